import { defaultScripts } from "@redlock/core/adapter";
import { type RedisCluster, respCall, startCluster, teardownAll } from "@redlock/testbed";
import { createIoredisRunner, NodeError, QuorumUnreachableError, Redlock } from "../src";
import { closeClients, drivers, eventually, rejection } from "./helpers";

let cluster: RedisCluster;
let counter = 0;

beforeAll(async () => {
  cluster = await startCluster();
});
afterEach(() => closeClients());
afterAll(() => teardownAll());

/** The cluster node that owns `key`'s slot, as the cluster itself reports it. */
async function owner(key: string) {
  const slot = Number(await respCall(cluster.nodes[0]!, "CLUSTER", "KEYSLOT", key));
  return cluster.nodeForSlot(slot);
}

describe.each(drivers)("%s", (label, driver) => {
  const tag = () => `{${label.replace(" ", "")}:user:${++counter}}`;

  test("names the runner after the startup nodes", () => {
    const runner = createIoredisRunner(driver.cluster(cluster.startupNodes));
    expect(runner.name).toBe(
      `redis-cluster://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
    );
  });

  test("locks keys that share a hash tag, on the node that owns their slot", async () => {
    const redlock = new Redlock([driver.cluster(cluster.startupNodes)]);
    const t = tag();
    const keys = [`${t}:a`, `${t}:b`];
    const lock = await redlock.acquire(keys, 2000);
    const node = await owner(keys[0]!);
    for (const k of keys) expect(await respCall(node, "GET", k)).toBe(lock.value);
    const extended = await lock.extend(10_000);
    expect(Number(await respCall(node, "PTTL", keys[1]!))).toBeGreaterThan(5000);
    expect((await extended.release()).outcome).toBe("released");
    expect(await respCall(node, "EXISTS", ...keys)).toBe(0);
  });

  test("locks on different slots go to different nodes", async () => {
    const redlock = new Redlock([driver.cluster(cluster.startupNodes)]);
    const keys = Array.from({ length: 12 }, () => `${tag()}:x`);
    const owners = new Set<number>();
    for (const k of keys) {
      const lock = await redlock.acquire([k], 1000);
      const node = await owner(k);
      owners.add(node.port);
      expect(await respCall(node, "GET", k)).toBe(lock.value);
      await lock.release();
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  test("a lock across hash slots fails with a typed error carrying CROSSSLOT", async () => {
    const client = driver.cluster(cluster.startupNodes);
    const keys = [`${tag()}:a`, `${tag()}:b`];
    const runner = createIoredisRunner(client);
    const error = (await rejection(
      runner.run(defaultScripts.acquireScript, keys, ["v", 1000]),
    )) as NodeError;
    expect(error).toBeInstanceOf(NodeError);
    expect(error.node).toBe(runner.name);
    expect(error.message).toMatch(/^\[redis-cluster:\/\/.*\] CROSSSLOT/);
    expect((error.cause as Error).message).toMatch(/^CROSSSLOT/);

    const redlock = new Redlock([client], { retryCount: 1, retryDelay: 50, retryJitter: 0 });
    const start = performance.now();
    const failure = await rejection(redlock.acquire(keys, 1000));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(failure).toBeInstanceOf(QuorumUnreachableError);
    expect(failure.cause).toBeInstanceOf(NodeError);
    expect(((failure.cause as NodeError).cause as Error).message).toMatch(/^CROSSSLOT/);
  });

  test("a client keyPrefix without a hash tag: untagged names lock, and waiters get the lock", async () => {
    const client = driver.cluster(cluster.startupNodes, "app:");
    // The waiting line of "app:<name>" would hash elsewhere: the runner says so, and core sends
    // lock keys only.
    expect(createIoredisRunner(client).waitingLines).toBe(false);
    expect(createIoredisRunner(driver.cluster(cluster.startupNodes, "{app}:")).waitingLines).toBe(
      undefined,
    );
    const redlock = new Redlock([client], { retryDelay: 50, retryJitter: 0 });
    const name = `plain:${++counter}`;
    const held = await redlock.acquire([name], 5000);
    expect(await respCall(await owner(`app:${name}`), "GET", `app:${name}`)).toBe(held.value);
    const waiting = redlock.acquire([name], 5000);
    await held.release();
    const lock = await waiting;
    expect((await lock.release()).outcome).toBe("released");
  });

  test("falls back to EVAL on the owning node after SCRIPT FLUSH", async () => {
    const client = driver.cluster(cluster.startupNodes);
    const redlock = new Redlock([client]);
    const k = `${tag()}:a`;
    const node = await owner(k);
    await (await redlock.acquire([k], 1000)).release();
    for (const n of cluster.nodes) await respCall(n, "SCRIPT", "FLUSH");
    const sha = defaultScripts.acquireScript.sha1;
    expect(await respCall(node, "SCRIPT", "EXISTS", sha)).toEqual([0]);
    const lock = await redlock.acquire([k], 1000);
    expect(await respCall(node, "SCRIPT", "EXISTS", sha)).toEqual([1]);
    await lock.release();
  });

  test("redlock.quit() closes the cluster client", async () => {
    const client = driver.cluster(cluster.startupNodes);
    const redlock = new Redlock([client]);
    await (await redlock.acquire([`${tag()}:a`], 1000)).release();
    await redlock.quit();
    await eventually(() => expect(client.status).toBe("end"));
    await expect(redlock.quit()).resolves.toBeUndefined();
  });
});
