import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { createValkeyGlideRunner } from "../src";
import { glideClient, glideCluster } from "./helpers";

afterAll(() => teardownAll());

// Every group runs: GLIDE 2.3 and later subscribe at run time, so the runner has onRelease.
adapterConformanceSuite(
  { describe, it, expect, beforeAll, afterAll, beforeEach },
  redisTarget(
    "valkey-glide 2 (GlideClient)",
    async ({ host, port, username, password }) => {
      // GLIDE reconnects by itself, so a node the suite brings back up answers again.
      const client = await glideClient(
        { host, port },
        password === undefined ? {} : { credentials: { username, password } },
      );
      const runner = createValkeyGlideRunner(client);
      return { runner, close: () => runner.quit() };
    },
    {
      cluster: async (startupNodes) => {
        const runner = createValkeyGlideRunner(await glideCluster(startupNodes));
        return { runner, close: () => runner.quit() };
      },
    },
  ),
);
