import { type RedisNode, respCall, sleep, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createIoredisRunner, Redlock } from "../src";
import { closeClients, drivers } from "./helpers";

// Waiters are woken by the release announcement, not by polling: with a 60 s retry delay and a
// 60 s holder TTL, only an announcement can hand the lock over within the test's time.
let nodes: RedisNode[];
beforeAll(async () => {
  nodes = await startRedisNodes(3);
});
afterEach(() => closeClients());
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

describe.each(drivers)("%s", (_label, driver) => {
  test.each([[""], ["app:"]])(
    "a waiter takes the lock on release (client keyPrefix %j)",
    async (keyPrefix) => {
      const clients = () => nodes.map((node) => driver.redis(node.url, { keyPrefix }));
      const holder = new Redlock(clients(), slowPolling);
      const waiter = new Redlock(clients(), slowPolling);
      const held = await holder.acquire(["handoff"], 60_000);
      const waiting = waiter.acquire(["handoff"], 60_000, { retryCount: -1 });
      await listening(`redlock:released:${keyPrefix}handoff`);
      await held.release();
      const lock = await waiting;
      expect(lock.attempts.length).toBeLessThanOrEqual(3);
      await lock.release();
      await Promise.all([holder.quit(), waiter.quit()]);
    },
    20_000,
  );

  test("clients without duplicate() fall back to polling bounded by the holder's TTL", async () => {
    const [client] = nodes.map((node) => driver.redis(node.url));
    const plain = {
      evalsha: client!.evalsha.bind(client),
      eval: client!.eval.bind(client),
      quit: client!.quit.bind(client),
    };
    const runner = createIoredisRunner(plain, { name: "plain" });
    expect(runner.onRelease).toBeUndefined();
    const redlock = new Redlock([runner], slowPolling);
    await client!.get("warm-up");
    // Held elsewhere for 300 ms. Taken with a lock of that duration instead, its only try would
    // have that little time to answer, and a retry would come 60 s later.
    await respCall(nodes[0]!, "SET", "poll", "elsewhere", "PX", 300);
    const lock = await redlock.acquire(["poll"], 1000, { retryCount: -1 });
    expect(lock.attempts.length).toBeLessThanOrEqual(3);
    await lock.release();
  }, 60_000);
});
