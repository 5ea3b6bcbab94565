import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { startUpstashBridge } from "@redlock/testbed";
import { createUpstashRunner } from "../src";
import { drivers } from "./helpers";

afterAll(() => teardownAll());

// Each node is a REST bridge in front of the kit's fault proxy. Short client retries, so
// requests still open when the bridges close do not outlive the run.
for (const [label, make] of drivers) {
  const target = redisTarget(label, async ({ url: redisUrl }) => {
    const bridge = await startUpstashBridge({ redisUrl });
    const retry = { retries: 1, backoff: () => 10 };
    const runner = createUpstashRunner(make({ url: bridge.url, token: bridge.token, retry }));
    // The runner's own connections are its release streams; the bridge's to Redis stay open.
    return { runner, close: () => bridge.close(), openConnections: () => bridge.streams };
  });
  // Clients without subscribe() (before 1.39) make runners without onRelease.
  const client = make({ url: "http://127.0.0.1:1", token: "unused" }) as { subscribe?: unknown };
  const onRelease = typeof client.subscribe === "function";
  adapterConformanceSuite({ describe, it, expect, beforeAll, afterAll, beforeEach }, target, {
    groups: { onRelease },
  });
}
