import type { Redlock } from "./redlock";
import type { ReleaseResult } from "./release-result";
import type { AcquireSettings, Settings } from "./settings";
import type { ExecutionStats } from "./stats";

/** Monotonic times the engine keeps for each lock (not part of the public surface). */
export interface LockTimes {
  /** Monotonic ms after which the holder must stop relying on the lock. */
  readonly deadline: number;
  /** Monotonic ms after which no node can still hold the keys (attempt start + duration). */
  readonly keysGoneBy: number;
  /** The fencing token, when the lock was acquired with `fencing: true`. */
  readonly fencingToken?: number;
}

/** Where a lock keeps its times: a symbol, so they stay off the public surface. */
const TIMES: unique symbol = Symbol("redlock.lockTimes");

const times = {
  get: (lock: Lock): LockTimes | undefined => (lock as unknown as Record<symbol, LockTimes>)[TIMES],
  set: (lock: Lock, value: LockTimes): void => {
    (lock as unknown as Record<symbol, LockTimes>)[TIMES] = value;
  },
};

/** @internal */
export function lockTimes(lock: Lock): LockTimes | undefined {
  return times.get(lock);
}

/** @internal Never let `lock` claim validity past `deadline`. */
export function shortenLock(lock: Lock, deadline: number): void {
  const current = times.get(lock);
  if (current && deadline < current.deadline) times.set(lock, { ...current, deadline });
}

/** @internal Mark a lock released or replaced (a frozen lock object is left as it is). */
export function retire(lock: Lock): void {
  const current = times.get(lock);
  if (current && !Object.isFrozen(lock)) {
    times.set(lock, { ...current, deadline: Number.NEGATIVE_INFINITY });
  }
  try {
    lock.expiration = 0;
  } catch {
    // A frozen lock-like object: the times above already retire it.
  }
}

/**
 * A held lock, returned by `acquire()` and `extend()`. Its `release()` and `extend()` call the
 * `Redlock` that made it. Supports `await using lock = await redlock.acquire(…)`.
 */
export class Lock implements AsyncDisposable {
  /**
   * Wall-clock epoch ms until which the lock is valid, as in node-redlock (set to 0 when the
   * lock is released or replaced by an extension). Prefer {@link Lock.remainingTime}, which uses
   * the monotonic clock and cannot be fooled by a wall-clock step.
   */
  expiration: number;

  /**
   * Locks are made by `Redlock`; constructing one yourself adopts a lock whose `value` you know
   * (for example, one acquired by another process).
   */
  constructor(
    public readonly redlock: Redlock,
    public readonly resources: string[],
    public readonly value: string,
    public readonly attempts: ReadonlyArray<Promise<ExecutionStats>>,
    expiration: number,
    lockTimesInternal?: LockTimes,
  ) {
    this.expiration = expiration;
    const clock = redlock.clock;
    const deadline = lockTimesInternal?.deadline ?? clock.now() + (expiration - clock.wallNow());
    times.set(this, lockTimesInternal ?? { deadline, keysGoneBy: deadline });
  }

  /**
   * The fencing token when acquired with `{ fencing: true }`: pass it with every write to the
   * protected resource, which rejects writes carrying a token lower than one it has seen.
   * Extensions keep the token.
   */
  get fencingToken(): number | undefined {
    return times.get(this)?.fencingToken;
  }

  /** Milliseconds of validity left on the monotonic clock; 0 once expired, released or extended. */
  remainingTime(): number {
    if (this.expiration === 0) return 0;
    const deadline = times.get(this)?.deadline ?? 0;
    return Math.max(0, deadline - this.redlock.clock.now());
  }

  /** Release this lock; see `Redlock.release`. Never throws because the lock expired. */
  release(settings?: Partial<Settings>): Promise<ReleaseResult> {
    return this.redlock.release(this, settings);
  }

  /** Extend this lock to `duration` ms from now; resolves with the new lock (this one is retired). */
  extend(duration: number, settings?: AcquireSettings): Promise<Lock> {
    return this.redlock.extend(this, duration, settings);
  }

  /** Release on scope exit: `await using lock = await redlock.acquire(["a"], 5000)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
