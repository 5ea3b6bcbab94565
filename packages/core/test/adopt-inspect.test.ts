import {
  InvalidArgumentError,
  LockExpiredError,
  QuorumUnreachableError,
  ResourceLockedError,
} from "../src";
import { setup } from "./helpers";

describe("adopt", () => {
  test("hands out a working lock for a value acquired elsewhere, valid for the smallest TTL seen", async () => {
    const { clock, runners, redlock } = setup(3);
    const original = await redlock.acquire(["job:1", "job:2"], 10_000);
    await clock.advance(2_000);
    // One node's keys were refreshed later than the others: the least TTL wins.
    runners[0]!.set("job:1", original.value, 5_000);

    const adopted = await redlock.adopt(["job:1", "job:2"], original.value);
    expect(adopted.value).toBe(original.value);
    expect(adopted.resources).toEqual(["job:1", "job:2"]);
    // Two of three nodes report 8000 ms and one 5000 ms: the lock keeps the smallest, less the
    // drift allowance (0.01 × 5000 + 2 ms).
    expect(adopted.expiration - clock.wallNow()).toBe(5_000 - 52);
  });

  test("the adopted lock extends and releases like any other", async () => {
    const { runners, redlock } = setup(3);
    const original = await redlock.acquire(["a"], 10_000);
    const adopted = await redlock.adopt("a", original.value);
    const extended = await adopted.extend(30_000);
    for (const runner of runners) expect(runner.pttl("a")).toBe(30_000);
    expect((await extended.release()).outcome).toBe("released");
    for (const runner of runners) expect(runner.get("a")).toBeUndefined();
  });

  test("a value whose keys are gone fails with LockExpiredError; another holder with ResourceLockedError", async () => {
    const { clock, redlock } = setup(3);
    const original = await redlock.acquire(["a"], 1_000);
    await clock.advance(1_001);
    await expect(redlock.adopt("a", original.value)).rejects.toBeInstanceOf(LockExpiredError);

    const other = await redlock.acquire(["a"], 10_000);
    const error = await redlock.adopt("a", original.value).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(String(error)).not.toContain(other.value);
  });

  test("refuses a value that is not a string before anything is sent", async () => {
    const { runners, redlock } = setup(3);
    for (const value of ["", 42, undefined, { value: "x" }]) {
      await expect(redlock.adopt("a", value as string)).rejects.toMatchObject({
        reason: "INVALID_VALUE",
      });
    }
    await expect(redlock.adopt("a", "v", { retries: 1 } as never)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(runners.map((runner) => runner.stats.calls)).toEqual([0, 0, 0]);
  });

  test("decides at quorum: one node down does not stop it, two do", async () => {
    const { runners, redlock } = setup(3, { retryCount: 0 });
    const original = await redlock.acquire(["a"], 10_000);
    runners[0]!.faults.down = true;
    await expect(redlock.adopt("a", original.value)).resolves.toMatchObject({
      value: original.value,
    });
    runners[1]!.faults.down = true;
    await expect(redlock.adopt("a", original.value)).rejects.toBeInstanceOf(QuorumUnreachableError);
  });
});

describe("inspect", () => {
  test("reports held, free and mine per node and for the quorum, never another holder's value", async () => {
    const { clock, runners, redlock } = setup(3);
    const lock = await redlock.acquire(["a"], 10_000);
    await clock.advance(1_000);

    const [seenByOwner] = await redlock.inspect(["a"], lock);
    expect(seenByOwner).toMatchObject({ resource: "a", state: "held", mine: true });
    expect(seenByOwner!.validity).toBeGreaterThan(8_000);
    expect(seenByOwner!.validity).toBeLessThanOrEqual(9_000);
    expect(seenByOwner!.nodes).toEqual(
      runners.map((runner) => ({ node: runner.name, state: "held", ttl: 9_000, mine: true })),
    );

    const [seenByOther, free] = await redlock.inspect(["a", "b"]);
    expect(seenByOther).toMatchObject({ state: "held", mine: false });
    expect(JSON.stringify(seenByOther)).not.toContain(lock.value);
    expect(free).toMatchObject({ resource: "b", state: "free", mine: false, validity: 0 });
    expect(free!.nodes.every((node) => node.state === "free" && node.ttl === 0)).toBe(true);
  });

  test("a split or a failed majority is unknown, and failed nodes carry their error", async () => {
    const { runners, redlock } = setup(3, { nodeTimeout: 50 });
    runners[0]!.set("a", "someone", 10_000);
    runners[1]!.faults.down = true;
    const [split] = await redlock.inspect("a");
    expect(split!.state).toBe("unknown");
    expect(split!.nodes.map((node) => node.state)).toEqual(["held", "failed", "free"]);
    expect(split!.nodes[1]!.error?.node).toBe("n1");
  });

  test("a key held on a quorum counts the quorum-th longest TTL", async () => {
    const { runners, redlock } = setup(5);
    const ttls = [1_000, 2_000, 3_000, 4_000, 5_000];
    for (const [i, runner] of runners.entries()) runner.set("a", "v", ttls[i]);
    const [view] = await redlock.inspect("a", "v");
    // Three of five hold it for at least 3000 ms; drift allowance 0.01 × 3000 + 2 = 32 ms.
    expect(view).toMatchObject({ state: "held", mine: true, validity: 3_000 - 32 });
  });
});

test("inspect recognizes the caller's semaphore permits and read-write holds", async () => {
  const { redlock } = setup(3);
  const permit = await redlock.semaphore("pool", { limit: 2 }).acquire(10_000);
  const reader = await redlock.readWriteLock("doc").read(10_000);
  const [pool, doc] = await redlock.inspect(["pool", "doc"], permit);
  expect(pool).toMatchObject({ state: "held", mine: true });
  expect(pool!.nodes.every((node) => node.state === "other")).toBe(true);
  expect(doc).toMatchObject({ state: "held", mine: false });
  const [byReader] = await redlock.inspect("doc", reader.value);
  expect(byReader).toMatchObject({ state: "held", mine: true });
});
