export { adapterConformanceSuite, CONFORMANCE_NODES } from "./suite";
export type {
  ClusterTarget,
  ConformanceCluster,
  ConformanceNode,
  ConformanceTarget,
  Control,
  GroupName,
  Matchers,
  OpenedRunner,
  SuiteApi,
  SuiteGroups,
  SuiteOptions,
  TestFunction,
} from "./types";
