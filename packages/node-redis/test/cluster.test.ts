import { defaultScripts } from "@redlock/core/adapter";
import { type RedisCluster, respCall, startCluster, teardownAll } from "@redlock/testbed";
import {
  createNodeRedisRunner,
  NodeError,
  type NodeRedisCluster,
  NodeTimeoutError,
  QuorumUnreachableError,
  Redlock,
} from "../src";
import { at, connected, type Flavour, flavours, onlyWhen } from "./helpers";

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3 });
});

afterAll(() => teardownAll());

/** Index of the master serving `key`, and its value there (the others answer MOVED). */
async function lookup(key: string): Promise<{ master: number; value: unknown }> {
  const replies = await Promise.all(
    cluster.nodes.map((node) =>
      respCall(at(node), "GET", key).then(
        (value) => ({ value }),
        (error: Error) => {
          if (error.message.startsWith("MOVED")) return undefined;
          throw error;
        },
      ),
    ),
  );
  const master = replies.findIndex((reply) => reply !== undefined);
  expect(replies.filter((reply) => reply !== undefined)).toHaveLength(1);
  return { master, value: replies[master]!.value };
}

const storedValue = async (key: string) => (await lookup(key)).value;

describe.each(flavours)("$label cluster", (flavour: Flavour) => {
  let client: NodeRedisCluster;

  beforeEach(async () => {
    client = await connected(flavour.cluster(cluster.urls));
  });

  afterEach(async () => {
    if (client.isOpen) await (client.destroy ? client.destroy() : client.disconnect?.());
    await Promise.all(cluster.nodes.map((node) => respCall(at(node), "FLUSHALL")));
  });

  test("a lock on keys sharing a hash tag is acquired, extended and released", async () => {
    const redlock = new Redlock([client]);
    const [runner] = redlock.runners;
    expect(runner?.name).toMatch(/^redis-cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,/);

    const lock = await redlock.acquire(["{user:1}:a", "{user:1}:b"], 10_000);
    expect(await storedValue("{user:1}:a")).toBe(lock.value);
    expect(await storedValue("{user:1}:b")).toBe(lock.value);

    const extended = await lock.extend(20_000);
    const result = await extended.release();
    expect(result.outcome).toBe("released");
    expect(await storedValue("{user:1}:a")).toBeNull();
    expect(await storedValue("{user:1}:b")).toBeNull();
  });

  test("locks on different slots go to different masters", async () => {
    const redlock = new Redlock([client]);
    const locks = await Promise.all(
      ["{a}", "{b}", "{c}", "{d}"].map((tag) => redlock.acquire([`${tag}:x`], 10_000)),
    );
    const masters = new Set<number>();
    for (const [i, tag] of ["{a}", "{b}", "{c}", "{d}"].entries()) {
      const { master, value } = await lookup(`${tag}:x`);
      expect(value).toBe(locks[i]!.value);
      masters.add(master);
    }
    expect(masters.size).toBe(3);
    await Promise.all(locks.map((lock) => lock.release()));
  });

  test("a master that stops answering fails the run with NodeTimeoutError", async () => {
    const runner = createNodeRedisRunner(client, { timeout: 200 });
    // Calls to a master that answers are not about the deadline: they go without the 200 ms one.
    const patient = createNodeRedisRunner(client);
    const { acquireScript } = defaultScripts;
    await expect(patient.run(acquireScript, ["{b}:1"], ["v1", 10_000])).resolves.toBe(1);
    const { master } = await lookup("{b}:1");
    cluster.nodes[master]!.pause();
    try {
      const error = (await runner
        .run(acquireScript, ["{b}:1"], ["v2", 10_000])
        .catch((e: unknown) => e)) as NodeTimeoutError;
      expect(error).toBeInstanceOf(NodeTimeoutError);
      expect(error.message).toBe(`[${runner.name}] no reply within 200 ms`);
    } finally {
      cluster.nodes[master]!.resume();
    }
    await expect(patient.run(acquireScript, ["{b}:1"], ["v1", 10_000])).resolves.toBe(1);
  });

  test("keys in different hash slots fail with the server's CROSSSLOT error", async () => {
    const redlock = new Redlock([client], { retryCount: 0 });
    const error = await redlock.acquire(["user:1:a", "user:2:b"], 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    const [stats] = await Promise.all((error as QuorumUnreachableError).attempts);
    const [nodeError] = [...stats!.votesAgainst.values()];
    expect(nodeError).toBeInstanceOf(NodeError);
    expect(nodeError!.message).toMatch(/^\[redis-cluster:\/\/.*\] CROSSSLOT /);
  });

  test("falls back to EVAL after SCRIPT FLUSH on every master", async () => {
    const runner = createNodeRedisRunner(client);
    const { acquireScript } = defaultScripts;
    for (const node of cluster.nodes) await respCall(at(node), "SCRIPT", "FLUSH");
    await expect(runner.run(acquireScript, ["{t}:1", "{t}:2"], ["v", 10_000])).resolves.toBe(2);
    const loaded = await Promise.all(
      cluster.nodes.map((node) => respCall(at(node), "SCRIPT", "EXISTS", acquireScript.sha1)),
    );
    expect(loaded.filter((reply) => (reply as number[])[0] === 1)).toHaveLength(1);
  });

  onlyWhen(flavour.major === 6)("applies the cluster's keyPrefix to lock keys", async () => {
    const prefixed = await connected(flavour.cluster(cluster.urls, { keyPrefix: "{app}:" }));
    try {
      const lock = await new Redlock([prefixed]).acquire(["x"], 10_000);
      expect(await storedValue("{app}:x")).toBe(lock.value);
      expect(await storedValue("x")).toBeNull();
      expect((await lock.release()).outcome).toBe("released");
    } finally {
      prefixed.destroy?.();
    }
  });

  test("redlock.quit() closes the cluster client", async () => {
    const redlock = new Redlock([client]);
    await (await redlock.acquire(["{q}:1"], 10_000)).release();
    await redlock.quit();
    expect(client.isOpen).toBe(false);
  });
});
