import type { Settings } from "../settings";
import type { WakeReason } from "./handoff";

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

/**
 * The wait policy of one acquisition. node-redlock v5's schedule: a first try, then
 * `retryCount` retries `retryDelay ± retryJitter` ms apart. A try brought forward (by a release
 * announcement, or by the holder's TTL running out) does not use up a retry, and no wait goes
 * past `acquireTimeout` (`giveUpAt`).
 */
export class RetrySchedule {
  readonly #settings: Readonly<Settings>;
  readonly #budget: number;
  readonly #giveUpAt: number;
  /** Tries that used up the budget so far (the first one counts). */
  #used = 1;
  /** Whether the try just made was one on schedule. */
  #scheduled = true;
  /** When the next scheduled try is due. */
  #nextAt = Number.POSITIVE_INFINITY;

  constructor(settings: Readonly<Settings>, giveUpAt: number) {
    this.#settings = settings;
    this.#budget = maxAttempts(settings.retryCount);
    this.#giveUpAt = giveUpAt;
  }

  /**
   * The lock was handed to another waiter here before this acquisition's first try: wait as a
   * refused first try would. Returns when the first try is due.
   */
  handedOver(now: number): number {
    this.#nextAt = now + retryDelay(this.#settings);
    return this.#nextAt;
  }

  /** How the wait of {@link handedOver} ended: a try on schedule counts, one brought forward is free. */
  handedOverWoke(reason: WakeReason): void {
    this.#scheduled = reason === "timer";
    this.#used = this.#scheduled ? 1 : 0;
  }

  /** A try was refused at `now`: `false` once it was the last one the budget allows. */
  refused(now: number): boolean {
    if (!this.#scheduled) return true;
    if (this.#used >= this.#budget) return false;
    this.#nextAt = now + retryDelay(this.#settings);
    return true;
  }

  /**
   * When to try next after a refusal at `now`: the next scheduled try, the holder's TTL
   * (`holderTtl` ms, 0 if unknown) or `acquireTimeout`, whichever comes first. `undefined` to
   * give up at once: only `acquireTimeout` is left, and no announcement (`hearing`) can bring a
   * try forward before it.
   */
  wakeAt(now: number, holderTtl: number, hearing: boolean): number | undefined {
    const ttlAt = holderTtl > 0 ? now + holderTtl + 1 : Number.POSITIVE_INFINITY;
    const giveUpAt = this.#giveUpAt;
    const at = Math.min(this.#nextAt, ttlAt, giveUpAt);
    if (at === giveUpAt && !hearing && now + 1 < giveUpAt) return undefined;
    return at;
  }

  /** The wait for `at` ended with `reason`: `false` when `acquireTimeout` is what ended it. */
  woke(reason: WakeReason, at: number): boolean {
    if (reason === "timer" && at === this.#giveUpAt && at < this.#nextAt) return false;
    this.#scheduled = reason === "timer" && at === this.#nextAt;
    if (this.#scheduled) this.#used++;
    return true;
  }
}
