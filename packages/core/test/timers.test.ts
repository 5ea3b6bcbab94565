import { ResourceLockedError } from "../src";
import { MAX_TIMER_DELAY, setTimer } from "../src/internal/timers";
import { FakeClock } from "../src/testing";
import { setup } from "./helpers";

// Platform timers fire a delay above 2^31 − 1 ms after 1 ms. FakeClock does the same, so these
// tests see what an unclamped long delay would do in production: a busy loop.

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

describe("FakeClock behaves like platform timers", () => {
  test("a delay above 2^31 − 1 ms fires after 1 ms", async () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, MAX_TIMER_DELAY + 1);
    await clock.advance(1);
    expect(fired).toBe(true);
  });
});

describe("setTimer splits long delays", () => {
  test("fires once, at the full delay", async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    setTimer(clock, 3 * MAX_TIMER_DELAY + 10, () => fired.push(clock.now()));
    await clock.advance(3 * MAX_TIMER_DELAY + 9);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([3 * MAX_TIMER_DELAY + 10]);
  });

  test("cancel stops every part", async () => {
    const clock = new FakeClock();
    let fired = false;
    const timer = setTimer(clock, 2 * MAX_TIMER_DELAY, () => {
      fired = true;
    });
    await clock.advance(MAX_TIMER_DELAY + 5);
    timer.cancel();
    await clock.advance(2 * MAX_TIMER_DELAY);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("long TTLs and delays never turn into a busy loop", () => {
  test("a holder with a 30-day TTL costs one try per scheduled retry", async () => {
    const { clock, runners, redlock } = setup(3);
    for (const runner of runners) runner.set("a", "someone-else", THIRTY_DAYS);
    const pending = redlock.acquire(["a"], 1000, { retryCount: -1, acquireTimeout: 2000 });
    await expect(clock.settle(pending)).rejects.toBeInstanceOf(ResourceLockedError);
    // 200 ms apart over 2 s: about 10 tries per node, never hundreds.
    for (const runner of runners) expect(runner.stats.calls).toBeLessThanOrEqual(12);
  });

  test("a retry delay above the timer limit waits the whole delay", async () => {
    const { clock, runners, redlock } = setup(3);
    for (const runner of runners) runner.set("a", "someone-else", 10 * MAX_TIMER_DELAY);
    const delay = MAX_TIMER_DELAY + 1000;
    const pending = redlock.acquire(["a"], 1000, { retryCount: 2, retryDelay: delay });
    await expect(clock.settle(pending, 4 * delay)).rejects.toBeInstanceOf(ResourceLockedError);
    expect(clock.now()).toBeGreaterThanOrEqual(2 * delay);
    for (const runner of runners) expect(runner.stats.calls).toBe(3);
  });

  test("using() with a duration above the timer limit neither extends nor aborts early", async () => {
    const { clock, runners, redlock } = setup(3);
    const duration = 10 * MAX_TIMER_DELAY;
    let aborted: boolean | undefined;
    const done = redlock.using(["a"], duration, async (signal) => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 3600_000));
      aborted = signal.aborted;
    });
    await clock.settle(done, 2 * 3600_000);
    expect(aborted).toBe(false);
    // Acquire and release only: no extension was due.
    for (const runner of runners) expect(runner.stats.calls).toBe(2);
  });
});
