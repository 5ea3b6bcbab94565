import { type Clock, sleep, systemClock } from "./clock";
import {
  type ExecutionError,
  InvalidArgumentError,
  LockExpiredError,
  QuorumUnreachableError,
  ResourceLockedError,
} from "./errors";
import { TypedEmitter } from "./events";
import { type Classify, type Decision, runAttempt } from "./internal/attempt";
import { keepAttempt } from "./internal/attempts";
import { Deadlines } from "./internal/deadlines";
import { Handoff, type Waiter } from "./internal/handoff";
import { aborted, failure, list, mayHaveWritten, releaseResult } from "./internal/outcomes";
import { randomValue } from "./internal/random";
import { countVote, guardedVote, releaseVote } from "./internal/replies";
import { maxAttempts, raceSignal, retryDelay } from "./internal/retry";
import { Lock, lockTimes, retire, shortenLock } from "./lock";
import type { ReleaseResult } from "./release-result";
import type { LockScript, ScriptRunner } from "./script-runner";
import { defaultScripts, type LockScripts, resolveScript, type ScriptOverrides } from "./scripts";
import { fenceKey } from "./scripts-guarded";
import {
  type AcquireSettings,
  defaultSettings,
  mergeSettings,
  type RedlockOptions,
  type Settings,
  type UsingSettings,
} from "./settings";
import type { ExecutionStats } from "./stats";
import { type UsingRoutine, using } from "./using";
import {
  readSettings,
  validateDuration,
  validateLock,
  validateResources,
  validateRunners,
} from "./validate";
import { drift, quorum, validity } from "./validity";

/** The drift allowance for `duration`, which must leave some validity. */
function driftWithin(duration: number, driftFactor: number): number {
  const driftMs = drift(duration, driftFactor);
  if (duration <= driftMs) {
    throw new InvalidArgumentError(
      "INVALID_DURATION",
      "duration",
      `${duration} ms is not longer than the drift allowance (${driftMs} ms); no validity would be left.`,
    );
  }
  return driftMs;
}

/**
 * Distributed locks over one or more independent Redis nodes (the Redlock algorithm).
 *
 * Each node is reached through a {@link ScriptRunner}; adapter packages build them from driver
 * clients. A lock is held when a majority of nodes granted it and time is left after
 * subtracting the time spent and the clock-drift allowance.
 *
 * @example
 * ```ts
 * const redlock = new Redlock([runnerA, runnerB, runnerC]);
 * const lock = await redlock.acquire(["invoice:42"], 5000);
 * try { await work(); } finally { await lock.release(); }
 * ```
 */
export class Redlock extends TypedEmitter {
  /** The nodes, in the order given (duplicates removed). */
  readonly runners: ReadonlySet<ScriptRunner>;
  /** The effective default settings. */
  readonly settings: Readonly<Settings>;
  /** The scripts in use, with their SHA-1 digests. */
  readonly scripts: LockScripts;
  /** Prefix applied to every resource name to form its key. */
  readonly keyPrefix: string;
  /** The clock used for validity and timers. */
  readonly clock: Clock;
  readonly #runners: ScriptRunner[];
  readonly #names: string[];
  readonly #guard: { readonly period: number; readonly markerKey: string } | undefined;
  readonly #background = new Set<Promise<unknown>>();
  readonly #handoff: Handoff;
  readonly #deadlines: Deadlines;

  /**
   * @param runners one runner per independent Redis node
   * @param settings default settings and instance options
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} for no runners, an object that is not a runner, a bad setting
   *   or a script override that is neither a string nor a function
   */
  constructor(
    runners: Iterable<ScriptRunner>,
    settings: RedlockOptions = {},
    scripts: ScriptOverrides = {},
  ) {
    super();
    this.#runners = validateRunners(runners);
    settings = readSettings(settings);
    this.#names = this.#runners.map((runner, i) =>
      typeof runner.name === "string" && runner.name ? runner.name : `node-${i}`,
    );
    this.runners = new Set(this.#runners);
    this.settings = Object.freeze(mergeSettings(defaultSettings, settings));
    this.keyPrefix = settings.keyPrefix ?? "";
    this.clock = settings.clock ?? systemClock;
    this.#handoff = new Handoff(this.#runners, this.clock, this.settings.nodeTimeout);
    this.#deadlines = new Deadlines(this.clock);
    this.#guard = settings.restartGuard && {
      period: settings.restartGuard.period,
      markerKey: settings.restartGuard.markerKey ?? "redlock:boot",
    };
    this.scripts = Object.freeze({
      acquireScript: resolveScript("acquire", defaultScripts.acquireScript, scripts?.acquireScript),
      extendScript: resolveScript("extend", defaultScripts.extendScript, scripts?.extendScript),
      releaseScript: resolveScript("release", defaultScripts.releaseScript, scripts?.releaseScript),
      acquireGuardedScript: defaultScripts.acquireGuardedScript,
      fenceScript: defaultScripts.fenceScript,
    });
  }

  /**
   * Resolves once the requests this instance sent without waiting for them (the releases of
   * failed or aborted attempts) have settled. On runtimes that stop work after the response,
   * such as Cloudflare Workers, pass it to `ctx.waitUntil(redlock.idle())`.
   */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    this.#deadlines.settle();
  }

  /** Close every runner that supports it (`quit()`). */
  async quit(): Promise<void> {
    await Promise.all(this.#runners.map((runner) => runner.quit?.()));
    this.#deadlines.settle();
  }

  /**
   * Acquire a lock on `resources` for `duration` milliseconds.
   * @param resources one resource name or several (locked all-or-nothing)
   * @param duration lock TTL in ms, a positive integer
   * @throws {ResourceLockedError} another lock holds the resources after every retry
   * @throws {QuorumUnreachableError} too many nodes failed for a quorum
   * @throws {LockExpiredError} a quorum answered too late to leave any validity
   * @throws {AbortedError} `settings.signal` aborted
   * @throws {InvalidArgumentError} bad input; nothing was sent
   */
  async acquire(
    resources: string | readonly string[],
    duration: number,
    settings?: AcquireSettings,
  ): Promise<Lock> {
    const names = validateResources(resources);
    validateDuration(duration);
    const options = readSettings(settings);
    const s = mergeSettings(this.settings, options);
    const driftMs = driftWithin(duration, s.driftFactor);
    const keys = this.#keys(names);
    const signal = options.signal;
    const giveUpAt =
      options.acquireTimeout === undefined
        ? Number.POSITIVE_INFINITY
        : this.clock.now() + options.acquireTimeout;
    const attempts: Promise<ExecutionStats>[] = [];
    const timeout = Math.min(s.nodeTimeout, duration - driftMs);
    const fencing = options.fencing === true;

    let waiter: Waiter | undefined;
    let acquired = false;
    try {
      // Others in this process already wait for these keys: queue behind them instead of
      // racing them (a holder that releases and acquires again must not jump the line). A
      // single try (`retryCount: 0`) goes at once.
      if (maxAttempts(s.retryCount) > 1 && this.#handoff.enabled && this.#handoff.queued(keys)) {
        const entering = this.#handoff.enter(keys);
        try {
          waiter = await raceSignal(entering, signal);
          await this.#handoff.sleep(
            waiter,
            Math.min(duration, giveUpAt - this.clock.now()),
            signal,
          );
        } catch {
          void entering.then((late) => this.#handoff.leave(late, false));
          throw aborted(names, attempts, signal);
        }
      }
      for (let n = 1; ; n++) {
        if (signal?.aborted) throw aborted(names, attempts, signal);
        if (waiter) this.#handoff.attempting(waiter);
        // A fresh value per attempt: a late release of a failed attempt can never delete the
        // keys of a later one.
        const value = randomValue();
        const start = this.clock.now();
        const attempt = this.#requestGrant(keys, value, duration, fencing, timeout);
        let decision: Decision<number>;
        try {
          decision = await raceSignal(attempt, signal);
        } catch {
          // Reject at once; the release goes out now and settles on its own (bounded by timeout).
          this.#releasePartial(keys, value, timeout);
          throw aborted(names, attempts, signal);
        }
        keepAttempt(attempts, decision.stats);

        let error: ExecutionError;
        if (decision.granted) {
          let fencingToken: number | undefined;
          let fenceError: ExecutionError | undefined;
          if (fencing) {
            // Read-max-then-write-back: the granted quorum reported its counters; record one more
            // than their maximum on a majority before the lock is handed out, so every later
            // quorum (which intersects this majority) reads at least this token.
            fencingToken = Math.max(0, ...decision.details) + 1;
            const left = validity(duration, this.clock.now() - start, s.driftFactor);
            fenceError =
              left > 0
                ? await this.#recordToken(
                    names,
                    keys,
                    fencingToken,
                    Math.min(s.nodeTimeout, left),
                    attempts,
                  )
                : undefined;
          }
          const left = validity(duration, this.clock.now() - start, s.driftFactor);
          if (left > 0 && !fenceError) {
            const lock = new Lock(this, names, value, attempts, this.clock.wallNow() + left, {
              deadline: start + duration - driftMs,
              keysGoneBy: start + duration + driftMs,
              fencingToken,
            });
            acquired = true;
            this.emit("acquired", lock);
            return lock;
          }
          error =
            fenceError ??
            new LockExpiredError(
              `Acquired ${list(names)} on a quorum, but too late: no validity was left of ${duration} ms.`,
              attempts,
            );
        } else {
          error = failure("acquire", names, decision, attempts, this.#runners.length);
        }
        // Step 5 of the algorithm: undo partial grants on every node before trying again, so our
        // own keys never block other contenders until they expire. The release is sent now and
        // not awaited: a slow node must not delay the decision, and since every attempt uses a
        // fresh value, a release that lands late can never delete a later attempt's keys.
        if (mayHaveWritten(decision)) this.#releasePartial(keys, value, timeout);
        if (n >= maxAttempts(s.retryCount)) throw error;
        // Only a lock held on enough nodes to deny the quorum by itself is worth waiting out;
        // when failing nodes were part of the reason, poll so a healed node is used at once.
        const heldElsewhere =
          decision.conflicts > this.#runners.length - quorum(this.#runners.length);
        if (heldElsewhere && this.#handoff.enabled) {
          // Held by someone else: wait for the release announcement instead of polling. The
          // first time, subscribe and try again at once, since the release may have come first.
          if (!waiter) {
            const entering = this.#handoff.enter(keys);
            try {
              waiter = await raceSignal(entering, signal);
            } catch {
              void entering.then((late) => this.#handoff.leave(late, false));
              throw aborted(names, attempts, signal);
            }
            continue;
          }
          if (this.#handoff.canHear(waiter)) {
            // A lost announcement costs at most the holder's remaining TTL.
            const bound = decision.holderTtl > 0 ? decision.holderTtl + 1 : retryDelay(s);
            const wait = Math.min(bound, giveUpAt - this.clock.now());
            if (wait <= 0) throw error;
            try {
              await this.#handoff.sleep(waiter, wait, signal);
            } catch {
              throw aborted(names, attempts, signal);
            }
            continue;
          }
          // Too few nodes listen for these keys (subscriptions failed): poll, and try again to
          // listen in the background.
          this.#handoff.refresh(waiter);
        }
        // Polling (no release announcements): jittered, and never past the holder's TTL.
        let delay = retryDelay(s);
        if (decision.holderTtl > 0) delay = Math.min(delay, decision.holderTtl + 1);
        if (this.clock.now() + delay >= giveUpAt) throw error;
        try {
          await sleep(this.clock, delay, signal);
        } catch {
          throw aborted(names, attempts, signal);
        }
      }
    } finally {
      if (waiter) this.#handoff.leave(waiter, acquired);
    }
  }

  /**
   * Extend a valid lock to `duration` ms from now. Resolves with a new `Lock`; the one passed
   * in is retired (`expiration` 0). Retries only while the lock is still valid, and never
   * re-creates keys that were lost.
   * @throws {LockExpiredError} the lock's validity ran out before or during the extension
   * @throws {ResourceLockedError} another lock took the resources on a majority of nodes
   * @throws {QuorumUnreachableError} too many nodes failed
   * @throws {InvalidArgumentError} bad input; the lock is left untouched
   */
  async extend(existing: Lock, duration: number, settings?: AcquireSettings): Promise<Lock> {
    const { resources, value } = validateLock(existing);
    validateDuration(duration);
    const s = mergeSettings(this.settings, readSettings(settings));
    const driftMs = driftWithin(duration, s.driftFactor);
    const keys = this.#keys(resources);
    const attempts: Promise<ExecutionStats>[] = [];

    for (let n = 1; ; n++) {
      const remaining = existing.remainingTime();
      if (remaining <= 0) {
        throw new LockExpiredError(
          `Cannot extend the lock on ${list(resources)}: it has already expired.`,
          attempts,
        );
      }
      const start = this.clock.now();
      const decision = await this.#attempt(
        this.scripts.extendScript,
        keys,
        [value, duration],
        Math.min(s.nodeTimeout, remaining),
        countVote(keys.length, "extend"),
      );
      keepAttempt(attempts, decision.stats);
      // Nodes that applied this extension now expire the keys `duration` ms after `start` at the
      // earliest, which may be sooner than before: the lock never claims more than that.
      shortenLock(existing, start + duration - driftMs);
      const left = validity(duration, this.clock.now() - start, s.driftFactor);
      if (decision.granted && left > 0) {
        const lock = new Lock(this, resources, value, attempts, this.clock.wallNow() + left, {
          deadline: start + duration - driftMs,
          keysGoneBy: start + duration + driftMs,
          fencingToken: existing.fencingToken,
        });
        retire(existing);
        this.emit("extended", lock, existing);
        return lock;
      }
      const error = decision.granted
        ? new LockExpiredError(`Extended ${list(resources)} too late: no validity left.`, attempts)
        : failure("extend", resources, decision, attempts, this.#runners.length);
      if (n >= maxAttempts(s.retryCount) || error instanceof ResourceLockedError) throw error;
      const delay = retryDelay(s);
      if (delay >= existing.remainingTime()) throw error;
      await sleep(this.clock, delay);
    }
  }

  /**
   * Release a lock on every node. Idempotent and bounded: it never throws because the lock
   * already expired, and it retries (only with an explicit `retryCount`) no longer than the keys
   * could live. The lock is invalidated at once (`expiration` 0).
   * @returns the outcome: `released`, `expired`, `not-held` or `partial`
   * @throws {InvalidArgumentError} if `lock` is not a lock
   */
  async release(lock: Lock, settings?: Partial<Settings>): Promise<ReleaseResult> {
    const { resources, value } = validateLock(lock);
    const options = readSettings(settings);
    const s = mergeSettings(this.settings, { ...options, retryCount: options.retryCount ?? 0 });
    const keysGoneBy = lockTimes(lock)?.keysGoneBy ?? this.clock.now();
    retire(lock);
    const keys = this.#keys(resources);
    const attempts: Promise<ExecutionStats>[] = [];

    for (let n = 1; ; n++) {
      const decision = await this.#attempt(
        this.scripts.releaseScript,
        keys,
        [value],
        s.nodeTimeout,
        releaseVote(keys.length),
      );
      keepAttempt(attempts, decision.stats);
      const delay = retryDelay(s);
      const retry =
        !decision.granted && n < maxAttempts(s.retryCount) && this.clock.now() + delay < keysGoneBy;
      if (retry) {
        await sleep(this.clock, delay);
        continue;
      }
      const result = releaseResult(decision, keys.length, attempts);
      this.emit("released", lock, result);
      return result;
    }
  }

  /**
   * Run `routine` while holding a lock that is extended automatically, then release it.
   *
   * The routine's `signal` aborts when the lock can no longer be relied on: an extension
   * failed and the local validity deadline passed, or the caps (`maxExtensions`,
   * `maxHoldTime`) stopped extensions. Check it before every side effect. The routine's result
   * or error is always what `using()` settles with; release problems never replace it.
   * @throws what `acquire()` throws, or what the routine throws
   */
  using<T>(
    resources: string | readonly string[],
    duration: number,
    routine: UsingRoutine<T>,
  ): Promise<T>;
  using<T>(
    resources: string | readonly string[],
    duration: number,
    settings: UsingSettings | undefined,
    routine: UsingRoutine<T>,
  ): Promise<T>;
  using<T>(
    resources: string | readonly string[],
    duration: number,
    settingsOrRoutine: UsingSettings | UsingRoutine<T> | undefined,
    maybeRoutine?: UsingRoutine<T>,
  ): Promise<T> {
    const routine = typeof settingsOrRoutine === "function" ? settingsOrRoutine : maybeRoutine;
    const settings = typeof settingsOrRoutine === "function" ? undefined : settingsOrRoutine;
    return using(this, resources, duration, settings, routine);
  }

  #keys(resources: readonly string[]): string[] {
    return this.keyPrefix ? resources.map((name) => this.keyPrefix + name) : [...resources];
  }

  #attempt<D>(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    timeout: number,
    classify: Classify<D>,
  ): Promise<Decision<D>> {
    return runAttempt({
      runners: this.#runners,
      names: this.#names,
      script,
      keys,
      args,
      timeout: Math.max(1, timeout),
      deadlines: this.#deadlines,
      classify,
      onNodeError: (error) => this.emit("error", error),
    });
  }

  /** One acquire request to every node: the plain script, or the guarded one for fencing or the restart guard. */
  #requestGrant(
    keys: readonly string[],
    value: string,
    duration: number,
    fencing: boolean,
    timeout: number,
  ): Promise<Decision<number>> {
    if (!fencing && !this.#guard) {
      return this.#attempt(
        this.scripts.acquireScript,
        keys,
        [value, duration],
        timeout,
        countVote(keys.length, "acquire"),
      );
    }
    const guardedKeys = [
      ...keys,
      ...(fencing ? keys.map(fenceKey) : []),
      ...(this.#guard ? [this.#guard.markerKey] : []),
    ];
    return this.#attempt(
      this.scripts.acquireGuardedScript,
      guardedKeys,
      [value, duration, keys.length, fencing ? "1" : "0", this.#guard?.period ?? 0],
      timeout,
      guardedVote(keys.length),
    );
  }

  /** Write a fencing token back to a majority; resolves with an error when too few nodes took it. */
  async #recordToken(
    names: readonly string[],
    keys: readonly string[],
    token: number,
    timeout: number,
    attempts: ReadonlyArray<Promise<ExecutionStats>>,
  ): Promise<ExecutionError | undefined> {
    const counters = keys.map(fenceKey);
    const written = await this.#attempt(
      this.scripts.fenceScript,
      counters,
      [token],
      timeout,
      countVote(counters.length, "fence"),
    );
    if (written.granted) return undefined;
    return new QuorumUnreachableError(
      `Acquired ${list(names)}, but could not record its fencing token on a quorum.`,
      attempts,
      { cause: new AggregateError(written.failures, "fencing token write-back failed") },
    );
  }

  /** Release a failed attempt's grants in the background; {@link Redlock.idle} waits for them. */
  #releasePartial(keys: readonly string[], value: string, timeout: number): void {
    const release = this.#attempt(
      this.scripts.releaseScript,
      keys,
      [value],
      timeout,
      releaseVote(keys.length),
    ).then((decision) => decision.stats);
    this.#background.add(release);
    void release.finally(() => this.#background.delete(release));
  }
}
