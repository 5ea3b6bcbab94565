import { Redlock, ResourceLockedError, type ScriptRunner } from "@redlock/core";
import { createIoredisRunner } from "@redlock/ioredis";
import { createNodeRedisRunner } from "@redlock/node-redis";
import { FaultProxy, type RedisNode, respCall, startRedis, teardownAll } from "@redlock/testbed";
import IORedis from "ioredis";
import { createClient } from "redis";

// One primary with one replica (redis-server --replicaof), as behind Sentinel or a managed
// failover; the failover is done by hand: stop the primary, promote the replica.
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await teardownAll();
});

/** A primary and a replica that replicates through a fault proxy (to cut the link at will). */
async function pair(): Promise<{ primary: RedisNode; replica: RedisNode; link: FaultProxy }> {
  const primary = await startRedis();
  const link = await FaultProxy.start({ host: primary.host, port: primary.port });
  closers.push(() => link.close());
  const replica = await startRedis({ args: ["--replicaof", link.host, String(link.port)] });
  // Wait until the replica is in sync (the link is up), as a real deployment would be.
  for (;;) {
    const info = String(await respCall(replica, "INFO", "replication"));
    if (info.includes("master_link_status:up")) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { primary, replica, link };
}

const runners: [string, (url: string) => Promise<ScriptRunner>][] = [
  [
    "ioredis",
    async (url) => {
      const client = new IORedis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      client.on("error", () => {});
      closers.push(() => client.disconnect());
      return createIoredisRunner(client);
    },
  ],
  [
    "node-redis",
    async (url) => {
      const client = createClient({ url, socket: { reconnectStrategy: false } });
      client.on("error", () => {});
      await client.connect();
      closers.push(() => client.destroy?.() ?? client.disconnect());
      return createNodeRedisRunner(client);
    },
  ],
];

/** Stop the primary and promote the replica: what a failover does. */
async function failover(primary: RedisNode, replica: RedisNode): Promise<void> {
  await primary.stop();
  await respCall(replica, "REPLICAOF", "NO", "ONE");
}

describe.each(runners)("through %s", (_label, runnerFor) => {
  const sync = { replicaSync: { replicas: 1, timeout: 300 }, retryCount: 0 } as const;

  test("a lock granted with replicaSync survives a failover to the replica", async () => {
    const { primary, replica } = await pair();
    const redlock = new Redlock([await runnerFor(primary.url)], sync);
    const lock = await redlock.acquire(["job"], 30_000);
    await failover(primary, replica);
    const after = new Redlock([await runnerFor(replica.url)], { retryCount: 0 });
    await expect(after.acquire(["job"], 30_000)).rejects.toBeInstanceOf(ResourceLockedError);
    expect(await respCall(replica, "GET", "job")).toBe(lock.value);
  });

  test("with the replica behind, replicaSync refuses the grant that a failover would lose", async () => {
    const { primary, replica, link } = await pair();
    link.blackhole(); // the replication stream stops: the replica acknowledges nothing
    const synced = new Redlock([await runnerFor(primary.url)], sync);
    const error = await synced.acquire(["job"], 30_000).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/0 of 1 replicas acknowledged/);

    // Without replicaSync the same grant is handed out, and the failover loses it: a second
    // holder gets the lock while the first still believes it holds it.
    const plain = new Redlock([await runnerFor(primary.url)], { retryCount: 0 });
    const lost = await plain.acquire(["unsynced"], 30_000);
    await primary.stop();
    link.reset(); // the primary is gone, and what it had not sent is lost with it
    await respCall(replica, "REPLICAOF", "NO", "ONE");
    const after = new Redlock([await runnerFor(replica.url)], { retryCount: 0 });
    const second = await after.acquire(["unsynced"], 30_000);
    expect(lost.remainingTime()).toBeGreaterThan(0);
    expect(second.value).not.toBe(lost.value);
  });
});
