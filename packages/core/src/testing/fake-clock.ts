import type { Clock, TimerHandle } from "../clock";

const realSetTimeout = globalThis.setTimeout;

/** The longest delay platform timers hold; longer ones fire after 1 ms. */
const MAX_PLATFORM_DELAY = 2_147_483_647;

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A manual clock for tests: time moves only when you call {@link FakeClock.advance}, timers fire
 * in order, and promises settle between timers. Give the same instance to `Redlock` (`clock`)
 * and to every `MemoryRunner`.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * const redlock = new Redlock([new MemoryRunner({ clock })], { clock });
 * const lock = await clock.settle(redlock.acquire(["a"], 1000));
 * await clock.advance(1000); // the key expires
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #wall: number;
  #seq = 0;
  #timers = new Map<number, Timer>();

  /** @param start monotonic start time; @param wallStart wall-clock epoch ms at `start` */
  constructor(start = 0, wallStart = Date.UTC(2030, 0, 1)) {
    this.#now = start;
    this.#wall = wallStart;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wall + this.#now;
  }

  /**
   * Like the platform's timers: a delay above 2^31 − 1 ms (or NaN) fires after 1 ms, so a test
   * on this clock sees what an unclamped long delay would do in production.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    const delay = Number.isNaN(ms) || ms > MAX_PLATFORM_DELAY ? 1 : Math.max(0, ms);
    this.#timers.set(id, { id, at: this.#now + delay, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Step the wall clock alone, as an NTP step would; monotonic time is unaffected. */
  jumpWallClock(ms: number): void {
    this.#wall += ms;
  }

  /**
   * Move monotonic time forward by `ms` without firing timers, as a process stall (a GC pause,
   * a frozen VM) does; overdue timers fire at the next `advance`.
   */
  stall(ms: number): void {
    this.#now += ms;
  }

  /** Let every pending promise callback run (one real macrotask turn). */
  flush(): Promise<void> {
    return new Promise((resolve) => realSetTimeout(resolve, 0));
  }

  /** Move time forward by `ms`, firing due timers in order and settling promises after each. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await this.flush();
    for (;;) {
      const next = this.#next();
      if (!next || next.at > until) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await this.flush();
    }
    this.#now = until;
    await this.flush();
  }

  /**
   * Advance time timer by timer until `promise` settles, then return its result (or throw).
   * @param maxMs fail if it has not settled after this much fake time
   */
  async settle<T>(promise: Promise<T>, maxMs = 600_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    const limit = this.#now + maxMs;
    await this.flush();
    while (!settled) {
      const next = this.#next();
      if (!next || next.at > limit) {
        throw new Error(
          `FakeClock.settle: the promise did not settle within ${maxMs} ms of fake time`,
        );
      }
      await this.advance(next.at - this.#now);
    }
    return tracked;
  }

  #next(): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id)) next = timer;
    }
    return next;
  }
}
