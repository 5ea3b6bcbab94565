import { type RedisNode, respCall, sleep, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createNodeRedisRunner, Redlock } from "../src";
import { connected, flavours } from "./helpers";

// Waiters are woken by the release announcement, not by polling: with a 60 s retry delay and a
// 60 s holder TTL, only an announcement can hand the lock over within the test's time.
let nodes: RedisNode[];
beforeAll(async () => {
  nodes = await startRedisNodes(3);
});
afterAll(() => teardownAll());

const slowPolling = { retryDelay: 60_000, retryJitter: 0 };

/**
 * Resolves once every node has a subscriber on `channel`: the waiter failed its first try and
 * listens for the release. A release before that would go unheard (it only costs a retry
 * delay, by design), so the test waits for this rather than for a fixed time.
 */
async function listening(channel: string): Promise<void> {
  for (;;) {
    const replies = await Promise.all(
      nodes.map((node) => respCall(node, "PUBSUB", "NUMSUB", channel)),
    );
    if (replies.every((reply) => Number((reply as [string, number])[1]) > 0)) return;
    await sleep(10);
  }
}

describe.each(flavours.map((flavour) => [flavour.label, flavour] as const))(
  "%s",
  (_label, flavour) => {
    test("a waiter takes the lock on release", async () => {
      const clients = () => Promise.all(nodes.map((node) => connected(flavour.client(node.url))));
      const holder = new Redlock(await clients(), slowPolling);
      const waiter = new Redlock(await clients(), slowPolling);
      expect([...waiter.runners].every((runner) => typeof runner.onRelease === "function")).toBe(
        true,
      );
      const held = await holder.acquire(["handoff"], 60_000);
      const waiting = waiter.acquire(["handoff"], 60_000, { retryCount: -1 });
      await listening("redlock:released:handoff");
      await held.release();
      const lock = await waiting;
      expect(lock.attempts.length).toBeLessThanOrEqual(3);
      await lock.release();
      // Decided at quorum: let every node answer before quit(); later tests lock "handoff" too.
      await Promise.all([holder.idle(), waiter.idle()]);
      await Promise.all([holder.quit(), waiter.quit()]);
    }, 60_000);

    test("cluster clients have no release listener and poll", async () => {
      const cluster = flavour.cluster(nodes.map((node) => node.url));
      expect(createNodeRedisRunner(cluster).onRelease).toBeUndefined();
    });
  },
);
