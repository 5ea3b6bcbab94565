export { adapterConformanceSuite, CONFORMANCE_NODES } from "./suite";
export type { ConformanceNode, ConformanceTarget, Matchers, SuiteApi, SuiteOptions } from "./types";
