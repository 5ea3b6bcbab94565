import type { ScriptRunner } from "@redlock/core";
import { waitingLineKey } from "@redlock/core/adapter";
import { type RedisNode, respCall, sleep, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createIoredisRunner, Redlock } from "../src";
import { closeClients, type Driver, drivers } from "./helpers";

// Waiters are woken by the release announcement, not by polling: with a 60 s retry delay and a
// 60 s holder TTL, only an announcement can hand the lock over within the test's time.
let nodes: RedisNode[];
beforeAll(async () => {
  nodes = await startRedisNodes(3);
});
afterEach(() => closeClients());
afterAll(() => teardownAll());

const slowPolling = { retryDelay: 60_000, retryJitter: 0 };

/** Resolves once every node's reply to `command` passes `check`, polling every 10 ms. */
async function onEveryNode(command: string[], check: (reply: unknown) => boolean): Promise<void> {
  for (;;) {
    const replies = await Promise.all(nodes.map((node) => respCall(node, ...command)));
    if (replies.every(check)) return;
    await sleep(10);
  }
}

/**
 * Resolves once every node has a subscriber on `channel`: the waiter failed its first try and
 * listens for the release. A release before that would go unheard (it only costs a retry
 * delay, by design), so the test waits for this rather than for a fixed time.
 */
const listening = (channel: string) =>
  onEveryNode(["PUBSUB", "NUMSUB", channel], (reply) => Number((reply as [string, number])[1]) > 0);

/** Resolves once `key` has a waiting line on every node: a waiter was refused everywhere. */
const inLine = (key: string) =>
  onEveryNode(["EXISTS", waitingLineKey(key)], (reply) => Number(reply) === 1);

/** The part of an ioredis client in subscriber mode the tests use. */
interface Subscriber {
  psubscribe(pattern: string): Promise<unknown>;
  ping(): Promise<unknown>;
  on(event: "pmessage", listener: (pattern: string, channel: string) => void): unknown;
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
      // Decided at quorum: let every node answer before quit(); later tests lock "handoff" too.
      await Promise.all([holder.idle(), waiter.idle()]);
      await Promise.all([holder.quit(), waiter.quit()]);
    },
    20_000,
  );

  test("a release is announced only when somebody waits in line for the key", async () => {
    // Every announcement on the test's channels, as each node's subscriber receives it.
    const heard: string[] = [];
    const subscribers = nodes.map((node) => driver.redis(node.url) as unknown as Subscriber);
    for (const subscriber of subscribers) {
      await subscriber.psubscribe("redlock:released:told-*");
      subscriber.on("pmessage", (_pattern: string, channel: string) => heard.push(channel));
    }
    const a = new Redlock(
      nodes.map((node) => driver.redis(node.url)),
      slowPolling,
    );
    const b = new Redlock(
      nodes.map((node) => driver.redis(node.url)),
      slowPolling,
    );
    // Nobody waits: no message.
    await (await a.acquire(["told-free"], 60_000)).release();
    // A waiter of another process waits: the release is announced on every node, and it comes
    // (with a 60 s retry delay, nothing else could hand it the lock in time).
    const held = await a.acquire(["told-other"], 60_000);
    const other = b.acquire(["told-other"], 60_000, { retryCount: -1 });
    await inLine("told-other");
    await listening("redlock:released:told-other");
    await held.release();
    await (await other).release();
    await Promise.all([a.idle(), b.idle()]);
    // A node sends an announcement to its subscribers before the reply to a later PING.
    await Promise.all(subscribers.map((subscriber) => subscriber.ping()));
    expect(heard.filter((channel) => channel === "redlock:released:told-free")).toEqual([]);
    expect(heard.filter((channel) => channel === "redlock:released:told-other").length).toBe(
      nodes.length * 2,
    );
    await Promise.all([a.quit(), b.quit()]);
  }, 30_000);

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

  test("a waiter with slower round trips keeps a place the server can read through its retries", async () => {
    // Each of the far waiter's requests starts 4 ms late, so the round trip it measures, and
    // the turn window it sends with each retry, is not a whole number of milliseconds. The
    // scripts read a place as "ticket deadline window" in whole milliseconds and drop one that
    // does not parse when a release picks the next waiter.
    let answered = 0;
    const far = (client: ReturnType<Driver["redis"]>): ScriptRunner => {
      const runner = createIoredisRunner(client);
      return {
        ...runner,
        run: (script, keys, args, options) =>
          sleep(4)
            .then(() => runner.run(script, keys, args, options))
            .finally(() => {
              if (script.name === "acquire") answered++;
            }),
      };
    };
    const holder = new Redlock(nodes.map((node) => driver.redis(node.url)));
    const waiter = new Redlock(
      nodes.map((node) => far(driver.redis(node.url))),
      { retryDelay: 100, retryJitter: 0 },
    );
    const held = await holder.acquire(["line"], 60_000);
    const waiting = waiter.acquire(["line"], 60_000, { retryCount: -1 });
    // Every node answered the waiter's first retry, sent with the window it measured.
    while (answered < 2 * nodes.length) await sleep(10);
    const line = waitingLineKey("line");
    for (const node of nodes) {
      const entries = (await respCall(node, "HGETALL", line)) as string[];
      expect(entries).toHaveLength(2);
      expect(entries[1]).toMatch(/^\d+ \d+ \d+$/);
    }
    await held.release();
    const lock = await waiting;
    await lock.release();
    await Promise.all([holder.idle(), waiter.idle()]);
    await Promise.all([holder.quit(), waiter.quit()]);
  }, 30_000);
});
