import { afterAll, beforeAll, beforeEach, describe, expect, it } from "bun:test";
import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { RedisClient } from "bun";
import { createBunRunner } from "../src";

afterAll(() => teardownAll());

adapterConformanceSuite(
  { describe, it, expect, beforeAll, afterAll, beforeEach },
  redisTarget("Bun RedisClient", ({ url }) => {
    // Keeps reconnecting while a node is down, so a node the suite brings back up answers again.
    const client = new RedisClient(url, { maxRetries: 1_000 });
    const runner = createBunRunner(client, { url });
    return { runner, close: () => runner.quit() };
  }),
);
