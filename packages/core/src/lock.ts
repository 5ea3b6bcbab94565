import { type StatsSource, statsOf } from "./internal/attempts";
import type { Primitive } from "./internal/primitive";
import type { Redlock } from "./redlock";
import type { ReleaseResult } from "./release-result";
import type { AcquireSettings, Settings } from "./settings";
import type { ExecutionStats } from "./stats";

/**
 * What every handle of one lock shares: the handle `acquire()` returned and each one `extend()`
 * returned since. Releasing through any handle ends the validity of all of them.
 * @internal
 */
export interface LockState {
  /** Monotonic ms after which the holder must stop relying on the lock. */
  deadline: number;
  /** Monotonic ms after which no node can still hold the keys. */
  keysGoneBy: number;
  /** Wall-clock epoch ms of `deadline`, for `Lock.expiration`. */
  expiration: number;
  /** Bumped by every successful extension; older handles then read as retired. */
  generation: number;
  /** A release began through one of the handles. */
  released: boolean;
  /** The fencing token, when the lock was acquired with `fencing: true`. */
  readonly fencingToken?: number;
  /** What kind of hold this is, when not a plain lock (a semaphore's permits). */
  readonly primitive?: Primitive;
}

declare global {
  // What `await using` needs, declared as lib.esnext.disposable and @types/node declare it (the
  // declarations merge), so that a consumer compiling with an ES2022 lib needs neither.
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
  interface Disposable {
    [Symbol.dispose](): void;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

/**
 * `Symbol.asyncDispose`, or on a runtime without it (Node 20 before 20.4) the symbol Node
 * installs there, so that `Lock` never gets a method named "undefined".
 */
const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol.asyncDispose as typeof Symbol.asyncDispose | undefined) ??
  (Symbol.for("nodejs.asyncDispose") as typeof Symbol.asyncDispose);

const NO_ATTEMPTS: ReadonlyArray<Promise<ExecutionStats>> = Object.freeze([]);

/**
 * Set by {@link handleFor} for the one `new Lock(…)` it makes, whose binding it sets afterwards;
 * the constructor clears it.
 */
let bindLater = false;

interface Binding {
  readonly state: LockState;
  /** The generation this handle stands for; `undefined` follows every extension. */
  readonly generation: number | undefined;
  /** The attempts behind this handle; their statistics are built when `attempts` is first read. */
  readonly sources?: readonly StatsSource[];
}

// Set in Lock's static block: the private field is reachable only through these.
let bindingOf: (lock: object) => Binding | undefined;
let bind: (lock: Lock, binding: Binding) => void;

/** @internal The shared state behind a handle, or `undefined` for a lock-like copy. */
export function lockState(lock: object): LockState | undefined {
  return bindingOf(lock)?.state;
}

/** @internal Is this handle current (not replaced by an extension made through another)? */
export function isCurrent(lock: object): boolean {
  const binding = bindingOf(lock);
  if (!binding) return true;
  return binding.generation === undefined || binding.generation === binding.state.generation;
}

/** @internal A new handle for `state` at its current generation, or one that follows it. */
export function handleFor(
  redlock: Redlock,
  resources: string[],
  value: string,
  attempts: readonly StatsSource[],
  state: LockState,
  follow = false,
): Lock {
  bindLater = true;
  const lock = new Lock(redlock, resources, value, NO_ATTEMPTS, state.expiration);
  bind(lock, { state, generation: follow ? undefined : state.generation, sources: attempts });
  return lock;
}

/**
 * A held lock, returned by `acquire()` and `extend()`. Its `release()` and `extend()` call the
 * `Redlock` that made it. Supports `await using lock = await redlock.acquire(…)`.
 *
 * All handles of one lock share one state: once any of them is released, none claims validity,
 * and an extension that was still on its way hands out none. A handle is retired (`expiration`
 * 0, `remainingTime()` 0) when an extension returns a newer one.
 */
export class Lock implements AsyncDisposable {
  #binding: Binding | undefined;
  #attempts: ReadonlyArray<Promise<ExecutionStats>>;

  static {
    bindingOf = (lock) => (#binding in lock ? lock.#binding : undefined);
    bind = (lock, binding) => {
      lock.#binding = binding;
    };
  }

  /**
   * Locks are made by `Redlock`; constructing one yourself adopts a lock whose `value` you know
   * (for example, one acquired by another process) and whose `expiration` you trust.
   */
  constructor(
    public readonly redlock: Redlock,
    public readonly resources: string[],
    public readonly value: string,
    attempts: ReadonlyArray<Promise<ExecutionStats>>,
    expiration: number,
  ) {
    this.#attempts = attempts;
    if (bindLater) {
      bindLater = false;
      return;
    }
    const clock = redlock.clock;
    const deadline = clock.now() + (expiration - clock.wallNow());
    this.#binding = {
      state: {
        deadline,
        keysGoneBy: deadline,
        expiration,
        generation: 0,
        released: false,
      },
      generation: 0,
    };
  }

  /**
   * The statistics of the attempts that produced this handle (the most recent ones), each
   * resolved once every node has answered or timed out.
   */
  get attempts(): ReadonlyArray<Promise<ExecutionStats>> {
    const sources = this.#binding?.sources;
    if (sources && this.#attempts === NO_ATTEMPTS) this.#attempts = statsOf(sources);
    return this.#attempts;
  }

  /**
   * Wall-clock epoch ms until which the lock is valid, as in node-redlock; 0 once it is
   * released or replaced by an extension. Prefer {@link Lock.remainingTime}, which uses the
   * monotonic clock and cannot be fooled by a wall-clock step.
   */
  get expiration(): number {
    const state = lockState(this);
    if (!state || state.released || !isCurrent(this)) return 0;
    return state.expiration;
  }

  /**
   * The fencing token when acquired with `{ fencing: true }`: pass it with every write to the
   * protected resource, which rejects writes carrying a token lower than one it has seen.
   * Extensions keep the token.
   */
  get fencingToken(): number | undefined {
    return lockState(this)?.fencingToken;
  }

  /** Milliseconds of validity left on the monotonic clock; 0 once expired, released or extended. */
  remainingTime(): number {
    const state = lockState(this);
    if (!state || state.released || !isCurrent(this)) return 0;
    return Math.max(0, state.deadline - this.redlock.clock.now());
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
  async [asyncDispose](): Promise<void> {
    await this.release();
  }
}
