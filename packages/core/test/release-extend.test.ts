import { ExecutionError, Lock, LockExpiredError, QuorumUnreachableError, Redlock } from "../src";
import { setup } from "./helpers";

/** Release `lock` and check that the release settles within 10 ms of fake time. */
async function releasedAtOnce(clock: ReturnType<typeof setup>["clock"], lock: Lock) {
  let settled = false;
  const releasing = lock.release().then((result) => {
    settled = true;
    return result;
  });
  await clock.advance(10);
  expect(settled).toBe(true);
  return releasing;
}

describe("release", () => {
  test("idle() waits for the nodes a release decided at quorum did not wait for", async () => {
    const { clock, runners, redlock } = setup(3);
    runners[2]!.pause();
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    // Node 2 never answered the grant, so the release is decided by nodes 0 and 1.
    expect((await clock.settle(lock.release())).outcome).toBe("released");
    let idle = false;
    void redlock.idle().then(() => {
      idle = true;
    });
    await clock.advance(10);
    expect(idle).toBe(false);
    runners[2]!.resume();
    await clock.settle(redlock.idle());
    expect(idle).toBe(true);
    // Node 2 took the grant and then the release, in that order.
    expect(runners[2]!.get("a")).toBeUndefined();
  });

  test("releasing an expired lock resolves 'expired' instead of throwing (node-redlock #65, #145)", async () => {
    const { clock, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    await clock.advance(1500);
    const result = await clock.settle(lock.release());
    expect(result.outcome).toBe("expired");
    expect(result.nodes).toEqual({ released: 0, expired: 3, notHeld: 0, failed: 0 });
  });

  test("releasing after someone else took the resource resolves 'not-held' and leaves their lock", async () => {
    const { clock, runners, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    await clock.advance(1000);
    const theirs = await clock.settle(new Redlock(runners, { clock }).acquire(["a"], 5000));
    const result = await clock.settle(lock.release());
    expect(result.outcome).toBe("not-held");
    for (const runner of runners) expect(runner.get("a")).toBe(theirs.value);
  });

  test("release with a majority down resolves 'partial', never throws", async () => {
    const { clock, runners, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    runners[0]!.faults.down = true;
    runners[1]!.faults.down = true;
    const result = await clock.settle(lock.release());
    expect(result.outcome).toBe("partial");
    expect(result.nodes.failed).toBe(2);
    expect(lock.expiration).toBe(0);
  });

  test("release retries are bounded by the keys' lifetime even with retryCount -1 (node-redlock #313)", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 100 });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    for (const runner of runners) runner.faults.down = true;
    const start = clock.now();
    const result = await clock.settle(redlock.release(lock, { retryCount: -1 }));
    expect(result.outcome).toBe("partial");
    expect(clock.now() - start).toBeLessThanOrEqual(1000 + 12);
    expect(result.attempts.length).toBeLessThanOrEqual(16);
  });

  test("release retries succeed once a node is back", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 100 });
    const lock = await clock.settle(redlock.acquire(["a"], 5000));
    runners[0]!.faults.down = true;
    runners[1]!.faults.down = true;
    const pending = redlock.release(lock, { retryCount: 5 });
    await clock.advance(150);
    runners[1]!.faults.down = false;
    const result = await clock.settle(pending);
    expect(result.outcome).toBe("released");
    expect(runners[1]?.keys()).toEqual([]);
  });

  test("release does not wait for a frozen node that has not answered the grant", async () => {
    // A decision at quorum must not pay for the frozen minority's pending requests.
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 5000 });
    runners[2]!.pause();
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    expect((await releasedAtOnce(clock, lock)).outcome).toBe("released");
    runners[2]!.resume();
  });

  test("release is decided at quorum, also when a node that granted the lock is slow to answer it", async () => {
    // Waiting for every node that held the keys cost each release the slowest node's round trip.
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 5000 });
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    runners[2]!.pause();
    const result = await releasedAtOnce(clock, lock);
    expect(result.outcome).toBe("released");
    expect(result.nodes.released).toBe(2);
    expect(runners[2]!.get("a")).toBeDefined();
    // idle() resolves once the slow node has answered too: then no node holds the keys.
    runners[2]!.resume();
    await clock.settle(redlock.idle());
    expect(runners[2]!.get("a")).toBeUndefined();
  });

  test("quit() lets a release decided at quorum reach the other nodes before closing", async () => {
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 5000 });
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    runners[2]!.pause();
    expect((await clock.settle(lock.release())).outcome).toBe("released");
    let closed = false;
    const quitting = redlock.quit().then(() => {
      closed = true;
    });
    await clock.advance(10);
    expect(closed).toBe(false);
    runners[2]!.resume();
    await clock.settle(quitting);
    expect(runners[2]!.get("a")).toBeUndefined();
  });

  test("release is idempotent", async () => {
    const { clock, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    expect((await clock.settle(lock.release())).outcome).toBe("released");
    expect((await clock.settle(lock.release())).outcome).toBe("already-released");
  });

  test("only the owner's value releases", async () => {
    const { clock, runners, redlock } = setup(1);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    const forged = new Lock(redlock, ["a"], "0".repeat(32), [], clock.wallNow() + 1000);
    expect((await clock.settle(forged.release())).outcome).toBe("not-held");
    expect(runners[0]?.get("a")).toBe(lock.value);
  });

  test("await using releases at scope exit", async () => {
    const { clock, runners, redlock } = setup(3);
    const scope = async () => {
      await using lock = await redlock.acquire(["a"], 1000);
      expect(runners[0]?.get("a")).toBe(lock.value);
    };
    await clock.settle(scope());
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });
});

describe("extend", () => {
  test("extending an expired lock throws LockExpiredError, an ExecutionError", async () => {
    const { clock, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    await clock.advance(1000);
    const error = await clock.settle(lock.extend(1000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockExpiredError);
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error).toMatchObject({ code: "LOCK_EXPIRED" });
  });

  test("validity of an extension counts from the extension's successful attempt (node-redlock #276)", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 50 });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    runners[0]!.faults.down = true;
    runners[1]!.faults.down = true;
    const pending = lock.extend(1000);
    await clock.advance(120);
    runners[0]!.faults.down = false;
    const extended = await clock.settle(pending);
    expect(clock.now()).toBe(150);
    expect(extended.remainingTime()).toBe(988);
  });

  test("an extension never re-creates keys that were lost", async () => {
    const { clock, runners, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    runners[0]?.flushAll();
    runners[1]?.flushAll();
    await expect(clock.settle(lock.extend(1000))).rejects.toBeInstanceOf(LockExpiredError);
    expect(runners[0]?.keys()).toEqual([]);
    expect(runners[1]?.keys()).toEqual([]);
  });

  test("extension retries stop when the lock's validity runs out", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 100 });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    runners[0]!.faults.down = true;
    runners[1]!.faults.down = true;
    await expect(clock.settle(lock.extend(1000, { retryCount: -1 }))).rejects.toBeInstanceOf(
      QuorumUnreachableError,
    );
    expect(clock.now()).toBeLessThanOrEqual(988);
  });

  test("events: acquired, extended, released", async () => {
    const { clock, redlock } = setup(3);
    const seen: string[] = [];
    redlock.on("acquired", () => seen.push("acquired"));
    redlock.on("extended", (lock, previous) =>
      seen.push(`extended ${lock.value === previous.value}`),
    );
    redlock.once("released", (_lock, result) => seen.push(`released ${result.outcome}`));
    redlock.on("released", () => {
      throw new Error("a broken listener changes nothing");
    });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    const extended = await clock.settle(lock.extend(1000));
    await clock.settle(extended.release());
    await clock.settle(extended.release());
    expect(seen).toEqual(["acquired", "extended true", "released released"]);
  });
});
