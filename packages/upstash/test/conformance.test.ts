import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisConformanceTarget, startUpstashBridge } from "@redlock/testbed";
import { createUpstashRunner } from "../src";
import { drivers } from "./helpers";

// Each node is a REST bridge in front of the test bed's fault proxy. Short client retries, so
// requests still open when the bridges close do not outlive the run.
for (const [label, make] of drivers) {
  const target = redisConformanceTarget(label, async ({ url: redisUrl }) => {
    const bridge = await startUpstashBridge({ redisUrl });
    const retry = { retries: 1, backoff: () => 10 };
    const runner = createUpstashRunner(make({ url: bridge.url, token: bridge.token, retry }));
    return { runner, close: () => bridge.close() };
  });
  adapterConformanceSuite({ describe, it, expect, beforeAll, afterAll, beforeEach }, target);
}
