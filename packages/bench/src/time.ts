/** Nanoseconds on CLOCK_MONOTONIC, the same clock in every process of this machine. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves at the monotonic instant `atNs` (or at once when it has passed). */
export function sleepUntil(atNs: number): Promise<void> {
  const ms = (atNs - nowNs()) / 1e6;
  return ms > 0 ? sleep(ms) : Promise.resolve();
}

/** `ms` ± `jitter` milliseconds, at least 0. */
export function jittered(ms: number, jitter: number): number {
  return Math.max(0, ms + (Math.random() * 2 - 1) * jitter);
}
