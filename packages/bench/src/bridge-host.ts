import { randomBytes } from "node:crypto";
import { startUpstashBridge, teardownAll, type UpstashBridge } from "@redlock/testbed";

/**
 * Runs the Upstash REST bridges in a process of their own, so that the bridges' CPU is not
 * counted as client CPU of the Upstash adapter.
 */
interface Start {
  type: "start";
  redisUrls: string[];
}

let bridges: UpstashBridge[] = [];

async function stop(): Promise<never> {
  await teardownAll().catch(() => {});
  process.exit(0);
}

process.on("message", async (message: Start | { type: "stop" }) => {
  if (message.type === "stop") return stop();
  try {
    const token = randomBytes(16).toString("hex");
    bridges = await Promise.all(
      message.redisUrls.map((redisUrl) => startUpstashBridge({ redisUrl, token })),
    );
    // The request log is for tests; here it would only grow.
    setInterval(() => {
      for (const bridge of bridges) bridge.requests.length = 0;
    }, 250);
    process.send!({ type: "started", urls: bridges.map((bridge) => bridge.url), token });
  } catch (error) {
    process.send!({ type: "failed", error: String(error) });
  }
});
process.on("disconnect", () => void stop());
