/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time as the engine sees it. Validity and deadlines use `now()`, a monotonic clock, so a
 * wall-clock step (NTP, a VM resume) never stretches a lock. Replace it in tests to control time.
 */
export interface Clock {
  /** Monotonic milliseconds from an arbitrary origin (default `performance.now()`). */
  now(): number;
  /** Wall-clock epoch milliseconds, used only for `Lock.expiration` (default `Date.now()`). */
  wallNow(): number;
  /** Schedule `callback` after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancel a timer from {@link Clock.setTimeout}; unknown handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The default clock: `performance.now()`, `Date.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
