/**
 * Time for the checker: milliseconds (microsecond resolution) on Linux's CLOCK_MONOTONIC.
 *
 * `process.hrtime.bigint()` reads libuv's `uv_hrtime()`, which is `clock_gettime(CLOCK_MONOTONIC)`
 * on Linux. That clock is system-wide: readings from different processes on one host are
 * comparable, so intervals recorded by forked workers can be ordered against each other and
 * against the parent's fault log. `performance.now()` is not: its origin is per process.
 * `test/fault-suite.test.ts` checks the cross-process property on the running machine.
 */
export function monotonicNow(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** Resolve after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
