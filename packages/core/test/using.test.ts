import { LockLostError, QuorumUnreachableError, type RedlockAbortSignal } from "../src";
import { setup } from "./helpers";

/** A routine that waits `ms` of fake time, recording when its signal fired. */
function wait(clock: { setTimeout(cb: () => void, ms: number): unknown }, ms: number) {
  return new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
}

describe("using()", () => {
  test("extends automatically while the routine runs, then releases", async () => {
    const { clock, runners, redlock } = setup(3);
    const result = await clock.settle(
      redlock.using(["a"], 1000, async (signal, context) => {
        await wait(clock, 3000);
        expect(signal.aborted).toBe(false);
        expect(runners[0]?.get("a")).toBe(context.lock.value);
        expect(context.extensions).toBeGreaterThanOrEqual(5);
        return "done";
      }),
    );
    expect(result).toBe("done");
    for (const runner of runners) expect(runner.keys()).toEqual([]);
    await redlock.idle();
    expect(clock.pendingTimers).toBe(0);
  });

  test("the signal fires at the local validity deadline when extensions keep failing (node-redlock #253)", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 50 });
    const lost: Error[] = [];
    let firedAt = -1;
    const result = await clock.settle(
      redlock.using(["a"], 1000, { onLockLost: (error) => lost.push(error) }, async (signal) => {
        signal.addEventListener("abort", () => {
          firedAt = clock.now();
        });
        runners[0]!.faults.down = true;
        runners[1]!.faults.down = true;
        await wait(clock, 2000);
        return signal.aborted;
      }),
    );
    expect(result).toBe(true);
    expect(firedAt).toBe(988);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(LockLostError);
    expect(lost[0]?.message).toBe(
      'The lock on "a" reached its validity deadline without a successful extension.',
    );
    expect(lost[0]?.cause).toBeInstanceOf(QuorumUnreachableError);
  });

  test("extension retries are spaced by retryDelay, never a hot loop", async () => {
    const { clock, runners, redlock } = setup(1, { retryDelay: 0 });
    await clock.settle(
      redlock.using(["a"], 1000, async () => {
        runners[0]!.faults.down = true;
        await wait(clock, 2000);
      }),
    );
    // Extension starts at 488 ms and may retry every 10 ms until 988 ms: ~50 tries at most.
    expect(runners[0]!.stats.calls).toBeLessThan(60);
  });

  test("a lost lock is never re-acquired: the signal fires at once", async () => {
    const { clock, runners, redlock } = setup(3);
    let signalRef: RedlockAbortSignal | undefined;
    await clock.settle(
      redlock.using(["a"], 1000, async (signal) => {
        signalRef = signal;
        for (const runner of runners) runner.flushAll();
        await wait(clock, 600);
        expect(signal.aborted).toBe(true);
      }),
    );
    expect(signalRef?.error).toBeInstanceOf(LockLostError);
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });

  test("maxExtensions caps extensions; the signal then fires at the deadline", async () => {
    const { clock, redlock } = setup(3);
    let count = -1;
    let firedAt = -1;
    let reason = "";
    await clock.settle(
      redlock.using(["a"], 1000, { maxExtensions: 2 }, async (signal, context) => {
        signal.addEventListener("abort", () => {
          firedAt = clock.now();
          reason = signal.error?.message ?? "";
        });
        await wait(clock, 5000);
        count = context.extensions;
      }),
    );
    expect(count).toBe(2);
    expect(firedAt).toBe(488 + 488 + 988);
    expect(reason).toBe(
      'The lock on "a" reached its validity deadline: maxExtensions (2) allowed no further extension.',
    );
  });

  test("maxHoldTime caps the total hold", async () => {
    const { clock, redlock } = setup(3);
    let firedAt = -1;
    let reason = "";
    await clock.settle(
      redlock.using(["a"], 1000, { maxHoldTime: 2500 }, async (signal) => {
        signal.addEventListener("abort", () => {
          firedAt = clock.now();
          reason = signal.error?.message ?? "";
        });
        await wait(clock, 5000);
      }),
    );
    expect(firedAt).toBeGreaterThan(0);
    expect(firedAt).toBeLessThanOrEqual(2500);
    expect(reason).toBe(
      'The lock on "a" reached its validity deadline: maxHoldTime (2500 ms) allowed no further extension.',
    );
  });

  test("the routine's error wins over a failed release (node-redlock #309)", async () => {
    const { clock, runners, redlock } = setup(3);
    const failure = new Error("routine failed");
    await expect(
      clock.settle(
        redlock.using(["a"], 1000, async () => {
          for (const runner of runners) runner.faults.down = true;
          throw failure;
        }),
      ),
    ).rejects.toBe(failure);
  });

  test("the routine's result wins over a failed release", async () => {
    const { clock, runners, redlock } = setup(3);
    const value = await clock.settle(
      redlock.using(["a"], 1000, async () => {
        for (const runner of runners) runner.faults.down = true;
        return 42;
      }),
    );
    expect(value).toBe(42);
  });

  test("a throwing onLockLost hook is contained", async () => {
    const { clock, runners, redlock } = setup(1);
    const lostEvents: Error[] = [];
    redlock.on("lost", (_lock, error) => lostEvents.push(error));
    await clock.settle(
      redlock.using(
        ["a"],
        1000,
        {
          onLockLost: () => {
            throw new Error("hook bug");
          },
        },
        async () => {
          runners[0]!.faults.down = true;
          await wait(clock, 1500);
        },
      ),
    );
    expect(lostEvents).toHaveLength(1);
  });

  test("no extension runs after the routine ends, and nothing is left scheduled", async () => {
    const { clock, runners, redlock } = setup(3);
    await clock.settle(redlock.using(["a"], 1000, async () => wait(clock, 480)));
    const calls = runners[0]!.stats.calls;
    await clock.advance(5000);
    expect(runners[0]!.stats.calls).toBe(calls);
    await redlock.idle();
    expect(clock.pendingTimers).toBe(0);
  });

  test("an outer signal aborts the routine's signal", async () => {
    const { clock, redlock } = setup(3);
    const controller = new AbortController();
    const aborted = await clock.settle(
      redlock.using(["a"], 1000, { signal: controller.signal }, async (signal) => {
        controller.abort(new Error("request closed"));
        return signal.error?.message;
      }),
    );
    expect(aborted).toBe("request closed");
  });

  test("the routine's lock follows extensions, also when destructured", async () => {
    const { clock, runners, redlock } = setup(3);
    await clock.settle(
      redlock.using(["a"], 1000, async (_signal, context) => {
        const { lock } = context;
        await wait(clock, 700);
        expect(context.extensions).toBe(1);
        expect(context.lock).toBe(lock);
        expect(lock.remainingTime()).toBeGreaterThan(700);
        expect(lock.expiration).toBeGreaterThan(clock.wallNow() + 700);
        expect(runners[0]?.pttl("a")).toBeGreaterThan(700);
      }),
    );
  });
});
