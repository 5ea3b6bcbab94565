import { InvalidArgumentError, Redlock, ResourceLockedError, semaphoreQuorum } from "../src";
import { setup } from "./helpers";

describe("semaphoreQuorum", () => {
  test.each([
    [1, 1, 1],
    [1, 5, 1],
    [3, 1, 2],
    [3, 2, 3],
    [3, 10, 3],
    [5, 1, 3],
    [5, 2, 4],
    [5, 4, 5],
    [7, 2, 5],
  ])("%i nodes, limit %i: %i votes", (nodes, limit, votes) => {
    expect(semaphoreQuorum(nodes, limit)).toBe(votes);
    // No limit + 1 holders fit: each needs `votes` nodes, each node admits `limit`.
    expect((limit + 1) * votes).toBeGreaterThan(limit * nodes);
  });
});

describe("Semaphore", () => {
  test("at most limit holders at once; a release lets the next one in", async () => {
    const { redlock } = setup(3, { retryCount: 0 });
    const jobs = redlock.semaphore("jobs", { limit: 2 });
    const a = await jobs.acquire(10_000);
    const b = await jobs.acquire(10_000);
    await expect(jobs.acquire(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    expect((await a.release()).outcome).toBe("released");
    const c = await jobs.acquire(10_000);
    expect(c.resources).toEqual(["jobs"]);
    await b.release();
    await c.release();
  });

  test("permits are all or nothing, up to the limit", async () => {
    const { redlock } = setup(3, { retryCount: 0 });
    const pool = redlock.semaphore("pool", { limit: 3 });
    const two = await pool.acquire(10_000, { permits: 2 });
    await expect(pool.acquire(10_000, { permits: 2 })).rejects.toBeInstanceOf(ResourceLockedError);
    const one = await pool.acquire(10_000);
    await two.release();
    const again = await pool.acquire(10_000, { permits: 2 });
    await Promise.all([one.release(), again.release()]);
  });

  test("a crashed holder's permits free themselves after its TTL; extend keeps them", async () => {
    const { clock, redlock } = setup(3, { retryCount: 0 });
    const sem = redlock.semaphore("crash", { limit: 1 });
    const crashed = await sem.acquire(1_000);
    const kept = redlock.semaphore("kept", { limit: 1 });
    const alive = await kept.acquire(1_000);
    await clock.advance(600);
    const extended = await alive.extend(1_000);
    await clock.advance(600);
    expect(crashed.remainingTime()).toBe(0);
    await expect(sem.acquire(1_000)).resolves.toMatchObject({ resources: ["crash"] });
    await expect(kept.acquire(1_000)).rejects.toBeInstanceOf(ResourceLockedError);
    expect(extended.remainingTime()).toBeGreaterThan(0);
  });

  test("a lock and a semaphore on the same resource exclude each other", async () => {
    const { redlock } = setup(3, { retryCount: 0 });
    const sem = redlock.semaphore("shared", { limit: 5 });
    const permit = await sem.acquire(10_000);
    await expect(redlock.acquire(["shared"], 10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await permit.release();
    const lock = await redlock.acquire(["shared"], 10_000);
    await expect(sem.acquire(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await lock.release();
  });

  test("holders granted on different nodes cannot exceed the limit together", async () => {
    // limit 2 over 3 nodes: H1 holds on nodes 0 and 1, H2 on 1 and 2. A majority (0 and 2) has
    // a free permit each, so a majority quorum would admit a third holder.
    const { clock, runners, redlock } = setup(3, { retryCount: 0 });
    const over = (nodes: number[]) =>
      new Redlock(
        nodes.map((i) => runners[i]!),
        { retryCount: 0, minDuration: 1, clock },
      ).semaphore("split", { limit: 2 });
    await over([0, 1]).acquire(10_000);
    await over([1, 2]).acquire(10_000);
    const sem = redlock.semaphore("split", { limit: 2 });
    expect(sem.quorum).toBe(3);
    await expect(sem.acquire(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
  });

  test("permits granted by too few nodes are given back at once", async () => {
    // limit 2 over 3 nodes needs all three: node 0 is full, so nodes 1 and 2 grant in vain.
    const { clock, runners, redlock } = setup(3, { retryCount: 0 });
    const single = (i: number) =>
      new Redlock([runners[i]!], { retryCount: 0, minDuration: 1, clock }).semaphore("partial", {
        limit: 2,
      });
    await single(0).acquire(60_000, { permits: 2 });
    const sem = redlock.semaphore("partial", { limit: 2 });
    await expect(sem.acquire(60_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await redlock.idle();
    // Both permits are free again on nodes 1 and 2: the failed attempt's grants were undone.
    for (const i of [1, 2])
      await expect(single(i).acquire(60_000, { permits: 2 })).resolves.toBeDefined();
  });

  test("a released permit wakes a waiter at once, not at its next retry", async () => {
    const setupClock = setup(3, { retryDelay: 60_000, retryCount: 10 });
    const sem = setupClock.redlock.semaphore("wake", { limit: 1 });
    const { clock } = setupClock;
    const holder = await clock.settle(sem.acquire(30_000));
    const waiter = sem.acquire(30_000);
    await clock.advance(1);
    await holder.release();
    const next = await clock.settle(waiter);
    // Long before the next retry (60 s) or the holder's expiry (30 s).
    expect(clock.now()).toBeLessThan(1_000);
    expect(next.resources).toEqual(["wake"]);
    await clock.settle(next.release());
  });

  test("using() extends the permits while the routine runs, then gives them back", async () => {
    const { clock, redlock } = setup(3, { retryCount: 0 });
    const sem = redlock.semaphore("work", { limit: 1 });
    const result = await sem.using(1_000, async (signal, context) => {
      await clock.advance(900);
      await clock.advance(900);
      expect(signal.aborted).toBe(false);
      expect(context.extensions).toBeGreaterThan(0);
      await expect(sem.acquire(1_000)).rejects.toBeInstanceOf(ResourceLockedError);
      return "done";
    });
    expect(result).toBe("done");
    await expect(sem.acquire(1_000)).resolves.toBeDefined();
  });

  test("await using gives the permits back at the end of the block", async () => {
    const { redlock } = setup(3, { retryCount: 0 });
    const sem = redlock.semaphore("scope", { limit: 1 });
    {
      await using permit = await sem.acquire(10_000);
      expect(permit.remainingTime()).toBeGreaterThan(0);
    }
    await expect(sem.acquire(10_000)).resolves.toBeDefined();
  });

  test("bad input is refused before anything is sent", async () => {
    const { runners, redlock } = setup(3);
    for (const limit of [0, -1, 1.5, Number.NaN, "2"]) {
      expect(() => redlock.semaphore("x", { limit: limit as number })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(() => redlock.semaphore("", { limit: 1 })).toThrow(InvalidArgumentError);
    const sem = redlock.semaphore("x", { limit: 2 });
    for (const settings of [{ permits: 0 }, { permits: 3 }, { permits: 1.5 }, { fencing: true }]) {
      await expect(sem.acquire(1_000, settings as never)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    await expect(sem.acquire(1_000, { retries: 2 } as never)).rejects.toMatchObject({
      reason: "UNKNOWN_SETTING",
    });
    await expect(sem.acquire(0)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(runners.map((runner) => runner.stats.calls)).toEqual([0, 0, 0]);
  });
});
