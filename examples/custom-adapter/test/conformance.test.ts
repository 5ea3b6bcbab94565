import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisConformanceTarget, teardownAll } from "@redlock/testbed";
import { RespRunner } from "../src/resp-runner";

afterAll(() => teardownAll());

adapterConformanceSuite(
  { describe, it, expect, beforeAll, afterAll, beforeEach },
  redisConformanceTarget("raw RESP runner", ({ host, port }) => {
    const runner = new RespRunner(host, port);
    return { runner, close: () => runner.quit() };
  }),
);
