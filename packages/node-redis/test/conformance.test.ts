import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { createNodeRedisRunner } from "../src";
import { connected, flavours } from "./helpers";

afterAll(() => teardownAll());

for (const flavour of flavours) {
  adapterConformanceSuite(
    { describe, it, expect, beforeAll, afterAll, beforeEach },
    redisTarget(
      flavour.label,
      async ({ url }) => {
        // Reconnects, so a node the suite brings back up answers again.
        const client = await connected(
          flavour.client(url, { socket: { reconnectStrategy: () => 50 } }),
        );
        return {
          runner: createNodeRedisRunner(client),
          close: () => (client.destroy ? client.destroy() : client.disconnect?.()),
        };
      },
      {
        cluster: async (startupNodes) => {
          const client = await connected(flavour.cluster(startupNodes.map(({ url }) => url)));
          return {
            runner: createNodeRedisRunner(client),
            close: () => (client.destroy ? client.destroy() : client.disconnect?.()),
          };
        },
      },
    ),
  );
}
