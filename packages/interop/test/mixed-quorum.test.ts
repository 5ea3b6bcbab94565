import { QuorumUnreachableError, Redlock } from "@redlock/core";
import { FaultProxy, teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, runnerFor, startBed } from "./drivers";

// One quorum over three transports: ioredis (TCP), node-redis (TCP) and Upstash (HTTP).
let bed: Bed;
let redlock: Redlock;
let proxy: FaultProxy;

beforeAll(async () => {
  bed = await startBed(3);
  proxy = await FaultProxy.start({ host: bed.nodes[1]!.host, port: bed.nodes[1]!.port });
  redlock = new Redlock(
    [
      await runnerFor(bed, "ioredis", 0),
      await runnerFor(bed, "node-redis", 1, proxy.url),
      await runnerFor(bed, "upstash", 2),
    ],
    { retryCount: 0, nodeTimeout: 500 },
  );
});
afterAll(async () => {
  await closeBed(bed);
  await teardownAll();
});

test("acquire, extend, release across the three transports", async () => {
  const lock = await redlock.acquire(["mixed:a", "mixed:b"], 5000);
  const stats = await lock.attempts[0];
  expect(stats?.votesFor.size).toBe(3);
  const extended = await lock.extend(10_000);
  expect((await extended.release()).outcome).toBe("released");
});

test("still works with the node-redis node unreachable, and fails typed with two down", async () => {
  proxy.blackhole();
  try {
    const lock = await redlock.acquire(["mixed:down"], 5000);
    expect((await lock.release()).outcome).toBe("released");
    bed.bridges[2]!.status5xx(503);
    await expect(redlock.acquire(["mixed:down2"], 5000)).rejects.toBeInstanceOf(
      QuorumUnreachableError,
    );
  } finally {
    bed.bridges[2]!.clearFaults();
    proxy.pass();
  }
});
