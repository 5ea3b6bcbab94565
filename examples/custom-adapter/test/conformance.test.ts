import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { createRespRunner } from "../src/resp-runner";

afterAll(() => teardownAll());

adapterConformanceSuite(
  { describe, it, expect, beforeAll, afterAll, beforeEach },
  redisTarget("raw RESP runner", ({ host, port }) => {
    const runner = createRespRunner(host, port);
    return { runner, close: () => runner.quit() };
  }),
  // This runner has no pub/sub connection, so no release announcements (onRelease).
  { groups: { onRelease: false } },
);
