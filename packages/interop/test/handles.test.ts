import {
  AbortedError,
  InvalidArgumentError,
  LockExpiredError,
  LockReleasedError,
  QuorumUnreachableError,
  Redlock,
  ResourceLockedError,
} from "@redlock/ioredis";
import { respCall, teardownAll } from "@redlock/testbed";
import IORedis from "ioredis";
import { type Bed, closeBed, startBed } from "./drivers";

// Every handle of one lock (the one acquire() returned and each one extend() returned) shares
// one state, on real redis-servers.

let bed: Bed;
const clients: IORedis[] = [];
let redlock: Redlock;
let other: Redlock;

function connect(): IORedis[] {
  const made = bed.nodes.map(
    (node) => new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 }),
  );
  clients.push(...made);
  return made;
}

const pttl = (key: string) =>
  Promise.all(bed.nodes.map((node) => respCall(node, "PTTL", key) as Promise<number>));

beforeAll(async () => {
  bed = await startBed(3);
  redlock = new Redlock(connect(), { retryCount: 0 });
  other = new Redlock(connect(), { retryCount: 0 });
});
afterAll(async () => {
  await Promise.all([redlock.quit(), other.quit()]);
  for (const client of clients) client.disconnect();
  await closeBed(bed);
  await teardownAll();
});

test("an extension whose reply arrives after a release began hands out no validity", async () => {
  const lock = await redlock.acquire(["h:race"], 5000);
  const extending = lock.extend(10_000);
  extending.catch(() => {});
  expect((await lock.release()).outcome).toBe("released");
  await expect(extending).rejects.toBeInstanceOf(LockReleasedError);
  expect(lock.remainingTime()).toBe(0);
  // Nobody holds it: another client gets it at once.
  const next = await other.acquire(["h:race"], 5000);
  await next.release();
});

test("releasing an older handle ends the validity of the newer one", async () => {
  const first = await redlock.acquire(["h:older"], 5000);
  const second = await first.extend(10_000);
  expect(first.remainingTime()).toBe(0);
  expect(second.remainingTime()).toBeGreaterThan(5000);
  await first.release();
  expect(second.remainingTime()).toBe(0);
  expect(second.expiration).toBe(0);
  await expect(second.extend(10_000)).rejects.toBeInstanceOf(LockReleasedError);
  const next = await other.acquire(["h:older"], 5000);
  await next.release();
});

test("outcome words: a second release says already-released, an extend after it says released", async () => {
  const lock = await redlock.acquire(["h:words"], 5000);
  expect((await lock.release()).outcome).toBe("released");
  expect((await lock.release()).outcome).toBe("already-released");
  const error = await lock.extend(5000).catch((caught: Error) => caught);
  expect(error).toBeInstanceOf(LockReleasedError);
  expect((error as Error).message).not.toMatch(/expired/);
  expect((error as LockReleasedError).code).toBe("LOCK_RELEASED");
});

test("a frozen lock is refused before any I/O; its keys keep their TTL", async () => {
  const lock = await redlock.acquire(["h:frozen"], 5000);
  // Decided at quorum: wait for every node's answer before reading them all.
  await Promise.all(lock.attempts);
  Object.freeze(lock);
  const before = await pttl("h:frozen");
  await expect(lock.extend(60_000)).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(redlock.release(lock)).rejects.toMatchObject({ reason: "INVALID_LOCK" });
  const after = await pttl("h:frozen");
  after.forEach((ttl, i) => {
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(before[i]!);
  });
  await Promise.all(bed.nodes.map((node) => respCall(node, "DEL", "h:frozen")));
});

test("extending a lock whose keys vanished is LockExpiredError, not ResourceLockedError", async () => {
  const lock = await redlock.acquire(["h:gone"], 5000);
  await Promise.all(lock.attempts);
  await Promise.all(bed.nodes.map((node) => respCall(node, "DEL", "h:gone")));
  const error = await lock.extend(5000).catch((caught: Error) => caught);
  expect(error).toBeInstanceOf(LockExpiredError);
  expect(error).not.toBeInstanceOf(ResourceLockedError);
  // Never re-created.
  expect(await pttl("h:gone")).toEqual([-2, -2, -2]);
});

test("extending a lock another holder took is ResourceLockedError", async () => {
  const lock = await redlock.acquire(["h:taken"], 5000);
  await Promise.all(lock.attempts);
  await Promise.all(bed.nodes.map((node) => respCall(node, "SET", "h:taken", "someone-else")));
  await expect(lock.extend(5000)).rejects.toBeInstanceOf(ResourceLockedError);
  await Promise.all(bed.nodes.map((node) => respCall(node, "DEL", "h:taken")));
});

test("using(): the routine's lock follows extensions, also when destructured", async () => {
  const extended = new Promise((resolve) => redlock.once("extended", resolve));
  await redlock.using(
    ["h:using"],
    1000,
    { automaticExtensionThreshold: 600 },
    async (signal, { lock }) => {
      await extended;
      expect(signal.aborted).toBe(false);
      expect(lock.remainingTime()).toBeGreaterThan(0);
      expect(lock.expiration).toBeGreaterThan(Date.now());
      // The handle extends the lock too, and it stays the live one.
      await lock.extend(5000);
      expect(lock.remainingTime()).toBeGreaterThan(1000);
    },
  );
  await redlock.idle(); // released at quorum: wait for every node
  expect(await pttl("h:using")).toEqual([-2, -2, -2]);
});

test("durations node-redlock v5 accepts: Math.floor(Number.MAX_SAFE_INTEGER / 10) ms", async () => {
  const forever = Math.floor(Number.MAX_SAFE_INTEGER / 10);
  const lock = await redlock.acquire(["h:forever"], forever);
  expect(lock.remainingTime()).toBeGreaterThan(2 ** 31);
  await Promise.all(lock.attempts);
  const ttls = await pttl("h:forever");
  for (const ttl of ttls) expect(ttl).toBeGreaterThan(2 ** 31);
  const extended = await lock.extend(forever);
  expect((await extended.release()).outcome).toBe("released");
  // using() with such a duration arms its timers without firing them early.
  const result = await redlock.using(["h:forever"], forever, async (signal) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return signal.aborted;
  });
  expect(result).toBe(false);
});

describe("extend() honours signal and acquireTimeout", () => {
  afterEach(() => {
    for (const node of bed.nodes) if (node.paused) node.resume();
  });

  test("an aborted signal stops the extension at once", async () => {
    const lock = await redlock.acquire(["h:extend-signal"], 10_000);
    bed.nodes[1]!.pause();
    bed.nodes[2]!.pause();
    const controller = new AbortController();
    const extending = lock.extend(10_000, { retryCount: -1, signal: controller.signal });
    controller.abort();
    await expect(extending).rejects.toBeInstanceOf(AbortedError);
  }, 30_000);

  test("acquireTimeout stops retrying", async () => {
    const lock = await redlock.acquire(["h:extend-timeout"], 10_000);
    bed.nodes[1]!.pause();
    bed.nodes[2]!.pause();
    const error = (await lock
      .extend(10_000, { retryCount: -1, nodeTimeout: 200, retryDelay: 50, acquireTimeout: 300 })
      .catch((caught: unknown) => caught)) as QuorumUnreachableError;
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    // Without the timeout, tries would go on for the lock's whole 10 s validity.
    expect(error.attempts.length).toBeLessThanOrEqual(2);
  }, 30_000);
});
