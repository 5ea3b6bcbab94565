import type { Clock } from "../clock";

/**
 * The longest delay platform timers hold: 2^31 − 1 ms (about 24.8 days). Node, browsers and
 * workerd fire a longer delay after 1 ms instead, so every timer the engine sets goes through
 * {@link setTimer}, which splits long delays.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/** A timer from {@link setTimer}. */
export interface Timer {
  /** Stop the timer; safe to call more than once and after it fired. */
  cancel(): void;
  /** Let the timer keep the process alive (`true`, the default) or not, where the platform can. */
  ref(keepAlive: boolean): void;
}

type Refable = { ref?: () => unknown; unref?: () => unknown };

/**
 * Call `callback` once `ms` milliseconds have passed on `clock`, however long `ms` is: a delay
 * beyond {@link MAX_TIMER_DELAY} is split into several platform timers. `Infinity` never fires
 * and sets no timer; a negative or NaN delay fires as soon as possible.
 */
export function setTimer(clock: Clock, ms: number, callback: () => void): Timer {
  let handle: unknown;
  let keepAlive = true;
  let cancelled = false;
  const apply = () => {
    const refable = handle as Refable | undefined;
    if (keepAlive) refable?.ref?.();
    else refable?.unref?.();
  };
  if (ms === Number.POSITIVE_INFINITY) {
    return { cancel() {}, ref() {} };
  }
  const target = clock.now() + (Number.isFinite(ms) && ms > 0 ? ms : 0);
  const arm = (delay: number) => {
    const long = delay > MAX_TIMER_DELAY;
    handle = clock.setTimeout(
      () => {
        handle = undefined;
        if (cancelled) return;
        if (long) arm(target - clock.now());
        else callback();
      },
      long ? MAX_TIMER_DELAY : Math.max(0, delay),
    );
    if (!keepAlive) apply();
  };
  arm(target - clock.now());
  return {
    cancel() {
      cancelled = true;
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
    },
    ref(value) {
      keepAlive = value;
      apply();
    },
  };
}

/**
 * Resolve after `ms` on `clock` (any length, see {@link setTimer}), or reject with the signal's
 * reason once it aborts.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = setTimer(clock, ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
