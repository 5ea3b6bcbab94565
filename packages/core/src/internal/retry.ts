import type { Settings } from "../settings";

/** `retryCount` as a number of attempts; -1 and Infinity mean unlimited. */
export function maxAttempts(retryCount: number): number {
  return retryCount < 0 || retryCount === Number.POSITIVE_INFINITY
    ? Number.POSITIVE_INFINITY
    : retryCount + 1;
}

/** `retryDelay ± retryJitter`, never negative. */
export function retryDelay(settings: Settings, random: () => number = Math.random): number {
  const jitter = Math.floor((random() * 2 - 1) * settings.retryJitter);
  return Math.max(0, settings.retryDelay + jitter);
}

/** Settle with `promise`, or reject as soon as `signal` aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
