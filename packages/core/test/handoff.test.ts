import { Redlock } from "../src";
import { FakeClock, MemoryRunner } from "../src/testing";
import { setup } from "./helpers";

const forever = { retryCount: -1 } as const;

describe("event-driven hand-off", () => {
  test("a waiter gets the lock as soon as it is released, not after a polling interval", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 5000 });
    const held = await clock.settle(redlock.acquire(["a"], 10_000));
    const waiting = redlock.acquire(["a"], 10_000, forever);
    await clock.advance(100);
    const releasedAt = clock.now();
    await held.release();
    const lock = await clock.settle(waiting);
    expect(clock.now()).toBe(releasedAt);
    expect(runners[0]?.get("a")).toBe(lock.value);
  });

  test("waiters in one process are served first come, first served", async () => {
    const { clock, redlock } = setup(3);
    let lock = await clock.settle(redlock.acquire(["a"], 10_000));
    const order: number[] = [];
    const waiters = [0, 1, 2, 3, 4].map((i) =>
      redlock.acquire(["a"], 10_000, forever).then((acquired) => {
        order.push(i);
        return acquired;
      }),
    );
    await clock.advance(1);
    for (let i = 0; i < 5; i++) {
      await clock.settle(lock.release());
      lock = await clock.settle(waiters[i]!);
    }
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  test("a release wakes one waiter of the process, not all of them", async () => {
    const { clock, runners, redlock } = setup(1);
    const held = await clock.settle(redlock.acquire(["a"], 10_000));
    const waiters = Array.from({ length: 10 }, () => redlock.acquire(["a"], 10_000, forever));
    await clock.advance(1);
    const before = runners[0]!.stats.calls;
    await held.release();
    const first = await clock.settle(Promise.race(waiters));
    // The release itself plus one acquire: nine waiters stayed asleep.
    expect(runners[0]!.stats.calls - before).toBe(2);
    await clock.settle(first.release());
    for (const waiter of waiters)
      await clock.settle(waiter).then((lock) => clock.settle(lock.release()));
    expect(runners[0]?.subscriptions).toBe(0);
  });

  test("a lost announcement costs at most the holder's remaining TTL", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 60_000 });
    const held = await clock.settle(redlock.acquire(["a"], 2000));
    for (const runner of runners) runner.faults.dropMessages = true;
    const waiting = redlock.acquire(["a"], 2000, forever);
    await clock.advance(10);
    await held.release();
    await clock.settle(waiting);
    expect(clock.now()).toBeLessThanOrEqual(2001);
  });

  test("when the first waiter gives up, the next one tries at once", async () => {
    const { clock, redlock } = setup(3, { retryDelay: 60_000 });
    const held = await clock.settle(redlock.acquire(["a"], 30_000));
    const controller = new AbortController();
    const first = redlock.acquire(["a"], 30_000, { ...forever, signal: controller.signal });
    const second = redlock.acquire(["a"], 30_000, forever);
    await clock.advance(10);
    // The holder's release is announced while the first waiter is leaving.
    await held.release();
    controller.abort();
    await expect(clock.settle(first)).rejects.toMatchObject({ code: "ABORTED" });
    const start = clock.now();
    await clock.settle(second);
    expect(clock.now() - start).toBeLessThan(1000);
  });

  test("contenders in different processes (instances) exclude each other and all get a turn", async () => {
    const clock = new FakeClock();
    const runners = [0, 1, 2].map((i) => new MemoryRunner({ clock, name: `n${i}` }));
    const instances = [0, 1, 2].map(() => new Redlock(runners, { clock, retryJitter: 0 }));
    let holders = 0;
    let maxHolders = 0;
    const counts = [0, 0, 0, 0, 0, 0];
    const worker = async (w: number) => {
      const redlock = instances[w % 3]!;
      for (let i = 0; i < 10; i++) {
        const lock = await redlock.acquire(["shared"], 5000, forever);
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        counts[w]!++;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
        holders--;
        await lock.release();
      }
    };
    await clock.settle(Promise.all(counts.map((_, w) => worker(w))), 60_000);
    expect(maxHolders).toBe(1);
    expect(counts).toEqual([10, 10, 10, 10, 10, 10]);
    // Every hand-off happened on an announcement, never by waiting out a TTL.
    expect(clock.now()).toBeLessThan(1000);
  });

  test("without pub/sub, a release made in this process still wakes the first in line at once", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 10_000 }, { pubsub: false });
    const held = await clock.settle(redlock.acquire(["a"], 60_000));
    const order: number[] = [];
    const waiters = [0, 1].map((i) =>
      redlock.acquire(["a"], 10_000).then((lock) => {
        order.push(i);
        return lock;
      }),
    );
    await clock.advance(100);
    const releasedAt = clock.now();
    await clock.settle(held.release());
    const first = await clock.settle(waiters[0]!);
    expect(clock.now()).toBe(releasedAt);
    expect(runners[0]?.get("a")).toBe(first.value);
    // Woken by the release, not by a retry: none of the default ten was used up.
    expect(first.attempts.length).toBe(2);
    await clock.settle(first.release());
    const second = await clock.settle(waiters[1]!);
    expect(clock.now()).toBe(releasedAt);
    expect(order).toEqual([0, 1]);
    await clock.settle(second.release());
  });

  test("a local release wakes the waiter before the nodes' announcements arrive", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 10_000 });
    const held = await clock.settle(redlock.acquire(["a"], 60_000));
    const waiting = redlock.acquire(["a"], 10_000);
    await clock.advance(100);
    // Announcements are lost: only the release's own replies can wake the waiter.
    for (const runner of runners) runner.faults.dropMessages = true;
    await clock.settle(held.release());
    const lock = await clock.settle(waiting);
    expect(clock.now()).toBe(100);
    expect(runners[1]?.get("a")).toBe(lock.value);
  });

  test("runners without pub/sub poll, never past the holder's TTL", async () => {
    const { clock, redlock } = setup(3, { retryDelay: 10_000 }, { pubsub: false });
    await clock.settle(redlock.acquire(["a"], 300));
    await clock.settle(redlock.acquire(["a"], 1000, forever));
    expect(clock.now()).toBe(301);
  });
});

describe("no barging", () => {
  test("a releaser asking again while its waiter takes the lock waits in line without a try", async () => {
    const { clock, runners, redlock } = setup(1);
    const runner = runners[0]!;
    const held = await clock.settle(redlock.acquire(["a"], 10_000));
    const waiting = redlock.acquire(["a"], 10_000);
    await clock.advance(1);
    const before = runner.stats.calls;
    await held.release();
    const again = redlock.acquire(["a"], 10_000);
    const handed = await clock.settle(waiting);
    // The release and the waiter's try; the releaser's try would have failed and is not made.
    await clock.advance(50);
    expect(runner.stats.calls - before).toBe(2);
    await clock.settle(handed.release());
    const lock = await clock.settle(again);
    expect(runner.stats.calls - before).toBe(4);
    // Woken by the release: none of its retries was used up.
    expect(lock.attempts.length).toBe(1);
    await clock.settle(lock.release());
  });

  test("a holder that releases and asks again waits behind the queue", async () => {
    const { clock, redlock } = setup(1);
    const order: string[] = [];
    const worker = async (name: string) => {
      for (let i = 0; i < 5; i++) {
        const lock = await redlock.acquire(["a"], 10_000, forever);
        order.push(name);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
        await lock.release();
      }
    };
    await clock.settle(Promise.all(["x", "y", "z"].map(worker)));
    // Round robin: nobody takes the lock twice in a row while others wait.
    for (let i = 1; i < order.length - 2; i++) expect(order[i]).not.toBe(order[i - 1]);
    expect(clock.now()).toBeLessThan(100);
  });
});
