import { type Clock, systemClock } from "./clock";
import {
  AbortedError,
  type ExecutionError,
  InvalidArgumentError,
  LockExpiredError,
  LockReleasedError,
  NodeError,
  QuorumUnreachableError,
  ResourceLockedError,
} from "./errors";
import { TypedEmitter } from "./events";
import type { ResourceInspection } from "./inspection";
import { type Attempt, type Classify, runAttempt } from "./internal/attempt";
import { keepAttempt, type StatsSource, statsOf } from "./internal/attempts";
import { Deadlines } from "./internal/deadlines";
import { Handoff, type Waiter, type WakeReason } from "./internal/handoff";
import { summarizeInspection } from "./internal/inspect";
import { aborted, failure, list, mayHaveWritten, releaseResult } from "./internal/outcomes";
import type { Primitive } from "./internal/primitive";
import { randomValue } from "./internal/random";
import {
  adoptVote,
  countVote,
  guardedVote,
  type InspectDetail,
  inspectVote,
  type ReleaseDetail,
  releaseVote,
} from "./internal/replies";
import { maxAttempts, RetrySchedule, raceSignal, retryDelay } from "./internal/retry";
import { sleep } from "./internal/timers";
import { handleFor, isCurrent, type Lock, type LockState, lockState } from "./lock";
import type { ReleaseResult } from "./release-result";
import { ReadWriteLock } from "./rwlock";
import type { LockScript, ScriptRunner } from "./script-runner";
import { defaultScripts, type LockScripts, resolveScript, type ScriptOverrides } from "./scripts";
import {
  DEFAULT_MARKER_KEY,
  fenceKey,
  RESERVED_NAMESPACE,
  waitingLineKey,
} from "./scripts-guarded";
import { Semaphore, type SemaphoreOptions } from "./semaphore";
import {
  type AcquireSettings,
  defaultSettings,
  mergeSettings,
  type RedlockOptions,
  type ReplicaSync,
  type Settings,
  type UsingSettings,
} from "./settings";
import { type UsingRoutine, using } from "./using";
import {
  DEFAULT_MIN_DURATION,
  readSettings,
  validateDuration,
  validateLock,
  validateResources,
  validateRunners,
  validateValue,
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

/** An attempt {@link Redlock.acquire} sent before handing over to the full loop. */
interface FirstAttempt {
  readonly attempt: Attempt<number>;
  readonly value: string;
  readonly start: number;
  readonly line: Line | undefined;
}

/**
 * A waiter's place in the waiting lines of its keys (see `WAITING_LINE`): the id of its
 * instance, how long it stays in line without trying again, and how long it needs to come when
 * given the turn.
 */
interface Line {
  readonly id: string;
  // Both are whole milliseconds: the scripts read a place as "ticket deadline window" in digits
  // and drop one that does not parse, so a fractional figure would cost the waiter its place.
  readonly checkin: number;
  window: number;
}

/**
 * The waiter id of a waiter that cannot hear releases (yet): it keeps no place in line (a turn
 * given to it would run out unused) and is not held back by turns, so that polling waiters are
 * never shut out by those that listen. A first try joins the line: a waiter whose subscriptions
 * are not confirmed when its turn comes costs that one turn.
 */
const DEAF = "*";

/** The settings of a call that passed none. */
const NO_SETTINGS: AcquireSettings = Object.freeze({});

/**
 * Acquire a hold of another kind than a plain lock (a semaphore's permits) with the full engine:
 * retries, waiting, hand-off, signals. `names` and `duration` are validated by the caller.
 * @internal
 */
export let acquireKind: (
  redlock: Redlock,
  primitive: Primitive,
  names: string[],
  duration: number,
  settings: AcquireSettings | undefined,
) => Promise<Lock>;

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
  static {
    acquireKind = (redlock, primitive, names, duration, settings) => {
      const options = settings === undefined ? NO_SETTINGS : readSettings(settings);
      const s =
        settings === undefined ? redlock.settings : mergeSettings(redlock.settings, options);
      const driftMs = driftWithin(duration, s.driftFactor);
      const keys = redlock.#keys(names);
      return redlock.#acquire(names, keys, duration, options, s, driftMs, undefined, primitive);
    };
  }

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
  /** The shortest lock duration accepted, in ms (the `minDuration` option). */
  readonly minDuration: number;
  readonly #runners: ScriptRunner[];
  readonly #names: string[];
  readonly #guard: { readonly period: number; readonly markerKey: string } | undefined;
  /** With `replicaSync`: waits for the replicas after a node granted, before its vote counts. */
  readonly #confirm: ((node: number, reply: unknown) => Promise<unknown>) | undefined;
  readonly #background = new Set<Promise<unknown>>();
  readonly #handoff: Handoff;
  /** The acquire and release scripts are the built-in ones, which keep waiting lines. */
  readonly #linedAcquire: boolean;
  readonly #linedRelease: boolean;
  /** This instance's id in the waiting lines: its waiters share one place and one turn. */
  readonly #lineTag = randomValue().slice(0, 12);
  readonly #deadlines: Deadlines;
  /** Release retries only when a call asks for it. */
  readonly #releaseSettings: Readonly<Settings>;

  /**
   * @param runners one runner per independent Redis node
   * @param settings default settings and instance options
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} for no runners, an object that is not a runner, two runners
   *   with the same name (`DUPLICATE_NODE`, unless `allowDuplicateNodeNames`), a bad setting or
   *   a script override that is neither a string nor a function
   */
  constructor(
    runners: Iterable<ScriptRunner>,
    settings: RedlockOptions = {},
    scripts: ScriptOverrides = {},
  ) {
    super();
    settings = readSettings(settings);
    const keyPrefix = settings.keyPrefix ?? "";
    if (keyPrefix.includes(RESERVED_NAMESPACE)) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        "settings.keyPrefix",
        `it contains "${RESERVED_NAMESPACE}", the namespace of the keys kept besides locks.`,
      );
    }
    const markerKey = settings.restartGuard?.markerKey ?? DEFAULT_MARKER_KEY;
    if (
      !markerKey.startsWith(RESERVED_NAMESPACE) ||
      markerKey.startsWith(fenceKey("")) ||
      markerKey === RESERVED_NAMESPACE
    ) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        "settings.restartGuard.markerKey",
        `expected a key in the reserved namespace, such as "${DEFAULT_MARKER_KEY}" (keyPrefix is ` +
          `prepended), outside "${fenceKey("")}"; got ${JSON.stringify(markerKey.slice(0, 60))}.`,
      );
    }
    const nodes = validateRunners(runners, settings.allowDuplicateNodeNames);
    this.#runners = nodes.runners;
    this.#names = nodes.names;
    this.runners = new Set(this.#runners);
    this.settings = Object.freeze(mergeSettings(defaultSettings, settings));
    this.#releaseSettings = mergeSettings(this.settings, { retryCount: 0 });
    this.keyPrefix = keyPrefix;
    this.clock = settings.clock ?? systemClock;
    this.minDuration = settings.minDuration ?? DEFAULT_MIN_DURATION;
    this.#handoff = new Handoff(this.#runners, this.clock, this.settings.nodeTimeout);
    this.#deadlines = new Deadlines(this.clock);
    this.#confirm = settings.replicaSync && this.#replicaConfirm(settings.replicaSync);
    this.#guard = settings.restartGuard && {
      period: settings.restartGuard.period,
      markerKey: keyPrefix + markerKey,
    };
    this.scripts = Object.freeze({
      acquireScript: resolveScript("acquire", defaultScripts.acquireScript, scripts?.acquireScript),
      extendScript: resolveScript("extend", defaultScripts.extendScript, scripts?.extendScript),
      releaseScript: resolveScript("release", defaultScripts.releaseScript, scripts?.releaseScript),
      acquireGuardedScript: defaultScripts.acquireGuardedScript,
      fenceScript: defaultScripts.fenceScript,
      adoptScript: defaultScripts.adoptScript,
      inspectScript: defaultScripts.inspectScript,
    });
    const lines = this.#runners.every((runner) => runner.waitingLines !== false);
    this.#linedAcquire = lines && this.scripts.acquireScript === defaultScripts.acquireScript;
    this.#linedRelease = lines && this.scripts.releaseScript === defaultScripts.releaseScript;
  }

  /**
   * A place in line for an acquisition that will wait for releases it can hear: it may retry,
   * and announcements reach this instance. Others (single tries, polling-only nodes, a custom
   * acquire script) take their chance when they try.
   */
  #line(s: Readonly<Settings>, timeout: number): Line | undefined {
    if (!this.#linedAcquire || !this.#handoff.enabled || maxAttempts(s.retryCount) <= 1) {
      return undefined;
    }
    return {
      id: this.#lineTag,
      checkin: Math.ceil(s.retryDelay + s.retryJitter + timeout),
      window: Math.ceil(Math.min(timeout, 110)),
    };
  }

  /**
   * Resolves once the requests this instance sent without waiting for them have settled: the
   * releases of failed or aborted attempts, and the nodes a release did not wait for (it is
   * decided at quorum). On runtimes that stop work after the response, such as Cloudflare
   * Workers, pass it to `ctx.waitUntil(redlock.idle())`.
   */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    this.#deadlines.settle();
  }

  /**
   * Wait for the requests still under way (see `idle()`: a release decided at quorum still
   * reaches the other nodes), then close every runner that supports it (`quit()`).
   */
  async quit(): Promise<void> {
    await this.idle();
    await Promise.all(this.#runners.map((runner) => runner.quit?.()));
    this.#deadlines.settle();
  }

  /**
   * Acquire a lock on `resources` for `duration` milliseconds.
   *
   * Tries at once, then retries `retryCount` times, `retryDelay ± retryJitter` ms apart (as
   * node-redlock v5 does). When the nodes announce releases, a release brings the next try
   * forward; such a try does not use up a retry when it loses the race, and waiting never
   * goes past the retry schedule, the holder's TTL or `acquireTimeout`.
   * @param resources one resource name or several (locked all-or-nothing)
   * @param duration lock TTL in ms, a positive integer
   * @throws {ResourceLockedError} another lock holds the resources after every retry
   * @throws {QuorumUnreachableError} too many nodes failed for a quorum
   * @throws {LockExpiredError} a quorum answered too late to leave any validity
   * @throws {AbortedError} `settings.signal` aborted
   * @throws {InvalidArgumentError} bad input; nothing was sent
   */
  acquire(
    resources: string | readonly string[],
    duration: number,
    settings?: AcquireSettings,
  ): Promise<Lock> {
    let names: string[];
    let options: AcquireSettings;
    let s: Readonly<Settings>;
    let driftMs: number;
    try {
      names = validateResources(resources);
      validateDuration(duration, this.minDuration);
      options = settings === undefined ? NO_SETTINGS : readSettings(settings);
      s = settings === undefined ? this.settings : mergeSettings(this.settings, options);
      driftMs = driftWithin(duration, s.driftFactor);
    } catch (error) {
      return Promise.reject(error);
    }
    // validateResources returned a copy: without a prefix, it can be the keys.
    const keys = this.keyPrefix ? this.#keys(names) : names;
    // The common case (no signal, deadline, fencing or guard, and no hand-off under way here)
    // sends its first attempt from here and needs no async frame when it is granted.
    if (
      options.signal === undefined &&
      options.acquireTimeout === undefined &&
      options.fencing !== true &&
      !this.#guard &&
      !this.#handoff.handingOff(keys)
    ) {
      const value = randomValue();
      const start = this.clock.now();
      const timeout = Math.min(s.nodeTimeout, duration - driftMs);
      const line = this.#line(s, timeout);
      const attempt = this.#requestGrant(
        keys,
        value,
        duration,
        false,
        timeout,
        line ? line.id : "",
        line,
        line !== undefined && this.#handoff.othersWait(keys, undefined),
      );
      const first: FirstAttempt = { attempt, value, start, line };
      return attempt.decision.then((decision) => {
        if (decision.granted) {
          const left = validity(duration, this.clock.now() - start, s.driftFactor);
          if (left > 0) {
            return this.#granted(names, value, [attempt], start, duration, driftMs, left);
          }
        }
        return this.#acquire(names, keys, duration, options, s, driftMs, first);
      });
    }
    return this.#acquire(names, keys, duration, options, s, driftMs, undefined);
  }

  /** The lock handed out for a granted attempt. */
  #granted(
    names: string[],
    value: string,
    attempts: readonly StatsSource[],
    start: number,
    duration: number,
    driftMs: number,
    left: number,
    fencingToken?: number,
    primitive?: Primitive,
  ): Lock {
    const state: LockState = {
      deadline: start + duration - driftMs,
      keysGoneBy: start + duration + driftMs,
      expiration: this.clock.wallNow() + left,
      generation: 0,
      released: false,
      fencingToken,
      ...(primitive ? { primitive } : {}),
    };
    const lock = handleFor(this, names, value, attempts, state);
    this.emit("acquired", lock);
    return lock;
  }

  /**
   * Acquisition with everything: the hand-off gate, signals, deadlines, fencing, retries.
   * `first` is an attempt already sent (and decided) by {@link Redlock.acquire}.
   */
  async #acquire(
    names: string[],
    keys: readonly string[],
    duration: number,
    options: AcquireSettings,
    s: Readonly<Settings>,
    driftMs: number,
    first: FirstAttempt | undefined,
    primitive?: Primitive,
  ): Promise<Lock> {
    const signal = options.signal;
    const clock = this.clock;
    const giveUpAt =
      options.acquireTimeout === undefined
        ? Number.POSITIVE_INFINITY
        : clock.now() + options.acquireTimeout;
    const attempts: StatsSource[] = [];
    const timeout = Math.min(s.nodeTimeout, duration - driftMs);
    const fencing = options.fencing === true;
    const budget = maxAttempts(s.retryCount);
    const schedule = new RetrySchedule(s, giveUpAt);
    const handoff = this.#handoff;
    const line = first ? first.line : primitive ? undefined : this.#line(s, timeout);

    let waiter: Waiter | undefined;
    let acquired = false;
    let taken = false;
    try {
      // This process just released one of the keys to a waiter here: let that waiter try first
      // (one round trip), queued behind it, so a releaser cannot take the lock straight back.
      // Keys without such a hand-off are tried at once. A single try goes at once, and so do
      // semaphores and read-write locks, whose holders do not exclude each other one for one.
      if (budget > 1 && !first && !primitive) {
        const gate = handoff.awaitHandoff(
          keys,
          Math.min(s.nodeTimeout, giveUpAt - clock.now()),
          signal,
        );
        if (gate) {
          waiter = handoff.enter(keys);
          try {
            taken = await gate;
          } catch {
            throw aborted(names, attempts, signal);
          }
        }
      }
      if (taken && waiter && options.acquireTimeout === undefined) {
        // The waiter the lock was handed to here took it: a try now would fail. Wait in line
        // for its release (or the first scheduled retry), as a failed first try would have.
        handoff.attempting(waiter);
        const now = clock.now();
        try {
          schedule.handedOverWoke(
            await handoff.sleep(waiter, schedule.handedOver(now) - now, signal),
          );
        } catch {
          throw aborted(names, attempts, signal);
        }
      }
      for (;;) {
        let value: string;
        let start: number;
        let attempt: Attempt<number>;
        if (first) {
          ({ value, start, attempt } = first);
          first = undefined;
        } else {
          if (signal?.aborted) throw aborted(names, attempts, signal);
          if (waiter) handoff.attempting(waiter);
          // A fresh value per attempt: a late release of a failed attempt can never delete the
          // keys of a later one.
          value = randomValue();
          start = clock.now();
          attempt = primitive
            ? this.#requestPrimitive(primitive, keys, value, duration, timeout)
            : this.#requestGrant(
                keys,
                value,
                duration,
                fencing,
                timeout,
                !line ? "" : waiter && !handoff.canHear(waiter) ? DEAF : line.id,
                line,
                line !== undefined && handoff.othersWait(keys, waiter),
                line ? handoff.waited(keys) : 0,
              );
        }
        let decision: Attempt<number>;
        try {
          decision = await raceSignal(attempt.decision, signal);
        } catch {
          // Reject at once; each node's grant is undone once its reply is in (bounded by timeout).
          this.#releasePartial(keys, value, timeout, attempt, primitive);
          throw aborted(names, attempts, signal);
        }
        if (waiter) handoff.attempted(waiter, decision.granted);
        if (decision.granted && line) handoff.served(keys);
        keepAttempt(attempts, attempt);
        // The turn a release gives this waiter lasts about three of its round trips.
        if (line) {
          line.window = Math.ceil(Math.min(timeout, Math.max(30, 3 * (clock.now() - start) + 20)));
        }

        // Made only when thrown: under contention most failed attempts are followed by another.
        let error: () => ExecutionError;
        if (decision.granted) {
          const fencingToken = fencing ? Math.max(0, ...decision.details) + 1 : undefined;
          const fenceError =
            fencingToken === undefined
              ? undefined
              : await this.#fence(names, keys, fencingToken, duration, start, s, attempts);
          const left = validity(duration, clock.now() - start, s.driftFactor);
          if (left > 0 && !fenceError) {
            acquired = true;
            return this.#granted(
              names,
              value,
              attempts,
              start,
              duration,
              driftMs,
              left,
              fencingToken,
              primitive,
            );
          }
          error = () =>
            fenceError ??
            new LockExpiredError(
              `Acquired ${list(names)} on a quorum, but too late: no validity was left of ${duration} ms.`,
              statsOf(attempts),
            );
        } else {
          const kept = [...attempts];
          const needed = primitive?.quorum;
          error = () => failure("acquire", names, decision, kept, this.#runners.length, needed);
        }
        // Step 5 of the algorithm: undo partial grants before trying again, so our own keys never
        // block other contenders until they expire. Not awaited: a slow node must not delay the
        // next try, and since every attempt uses a fresh value, a release that lands late can
        // never delete a later attempt's keys.
        if (mayHaveWritten(decision)) {
          this.#releasePartial(keys, value, timeout, attempt, primitive, line);
        }

        const now = clock.now();
        if (!schedule.refused(now)) throw error();
        // Listen for releases when a lock held elsewhere is what denied the quorum.
        const heldElsewhere =
          decision.conflicts >
          this.#runners.length - (primitive?.quorum ?? quorum(this.#runners.length));
        // Queued even when the nodes cannot announce releases: a release made in this process
        // still wakes the first in line directly.
        if (heldElsewhere) {
          if (!waiter) waiter = handoff.enter(keys);
          else if (handoff.enabled && !handoff.canHear(waiter)) handoff.refresh(waiter);
        }
        // Sleep until the next scheduled retry, the holder's TTL, acquireTimeout or a release
        // announcement, whichever comes first.
        const wakeAt = schedule.wakeAt(now, decision.holderTtl, !!waiter && handoff.enabled);
        if (wakeAt === undefined) throw error();
        let reason: WakeReason = "timer";
        if (wakeAt > now) {
          try {
            reason = waiter
              ? await handoff.sleep(waiter, wakeAt - now, signal)
              : await sleep(clock, wakeAt - now, signal).then(() => "timer" as const);
          } catch {
            throw aborted(names, attempts, signal);
          }
        }
        if (!schedule.woke(reason, wakeAt)) throw error();
      }
    } finally {
      if (waiter) handoff.leave(waiter, acquired);
    }
  }

  /**
   * Extend a valid lock to `duration` ms from now. Resolves with a new `Lock`; the one passed
   * in is retired (`expiration` 0). Retries only while the lock is still valid, never after its
   * `signal` aborted or past `acquireTimeout`, and never re-creates keys that were lost.
   * @throws {LockExpiredError} the lock's validity ran out before or during the extension, or
   *   its keys are gone from too many nodes
   * @throws {LockReleasedError} the lock was released (through any of its handles) before the
   *   extension completed; no validity is handed out
   * @throws {ResourceLockedError} another lock took the resources on a majority of nodes
   * @throws {QuorumUnreachableError} too many nodes failed
   * @throws {AbortedError} `settings.signal` aborted
   * @throws {InvalidArgumentError} bad input; the lock is left untouched
   */
  async extend(existing: Lock, duration: number, settings?: AcquireSettings): Promise<Lock> {
    const { resources, value, state } = this.#lockParts(existing);
    validateDuration(duration, this.minDuration);
    const options: AcquireSettings = settings === undefined ? NO_SETTINGS : readSettings(settings);
    const s = settings === undefined ? this.settings : mergeSettings(this.settings, options);
    const driftMs = driftWithin(duration, s.driftFactor);
    const keys = this.#keys(resources);
    const signal = options.signal;
    const clock = this.clock;
    const giveUpAt =
      options.acquireTimeout === undefined
        ? Number.POSITIVE_INFINITY
        : clock.now() + options.acquireTimeout;
    const attempts: StatsSource[] = [];
    const label = list(resources);
    const abortedExtend = () =>
      new AbortedError(`Extension of ${label} was aborted.`, statsOf(attempts), {
        cause: signal?.reason,
      });

    for (let n = 1; ; n++) {
      if (state.released) {
        throw new LockReleasedError(
          `Cannot extend the lock on ${label}: it was released.`,
          statsOf(attempts),
        );
      }
      if (!isCurrent(existing)) {
        throw new LockExpiredError(
          `Cannot extend this handle of the lock on ${label}: an extension replaced it; extend the lock that extend() returned.`,
          statsOf(attempts),
        );
      }
      const remaining = state.deadline - clock.now();
      if (remaining <= 0) {
        throw new LockExpiredError(
          `Cannot extend the lock on ${label}: it has already expired.`,
          statsOf(attempts),
        );
      }
      if (signal?.aborted) throw abortedExtend();
      const start = clock.now();
      // From here on, nodes that apply this extension may keep the keys until then.
      state.keysGoneBy = Math.max(state.keysGoneBy, start + duration + driftMs);
      const primitive = state.primitive;
      const attempt = this.#attempt(
        primitive?.extendScript ?? this.scripts.extendScript,
        keys,
        primitive ? [value, duration, ...primitive.extendArgs] : [value, duration],
        Math.min(s.nodeTimeout, remaining),
        countVote(keys.length, "extend"),
        primitive?.quorum,
      );
      let decision: Attempt<number>;
      try {
        decision = await raceSignal(attempt.decision, signal);
      } catch {
        throw abortedExtend();
      }
      keepAttempt(attempts, attempt);
      // Nodes that applied this extension now expire the keys `duration` ms after `start` at the
      // earliest, which may be sooner than before: the lock never claims more than that.
      state.deadline = Math.min(state.deadline, start + duration - driftMs);
      if (state.released) {
        throw new LockReleasedError(
          `The lock on ${label} was released while it was being extended; no validity is handed out.`,
          statsOf(attempts),
        );
      }
      const left = validity(duration, clock.now() - start, s.driftFactor);
      if (decision.granted && left > 0) {
        state.generation++;
        state.deadline = start + duration - driftMs;
        state.expiration = clock.wallNow() + left;
        const lock = handleFor(this, resources, value, attempts, state);
        this.emit("extended", lock, existing);
        return lock;
      }
      const error = decision.granted
        ? new LockExpiredError(`Extended ${label} too late: no validity left.`, statsOf(attempts))
        : failure(
            "extend",
            resources,
            decision,
            attempts,
            this.#runners.length,
            state.primitive?.quorum,
          );
      if (
        n >= maxAttempts(s.retryCount) ||
        error instanceof ResourceLockedError ||
        error instanceof LockExpiredError
      ) {
        throw error;
      }
      const delay = retryDelay(s);
      const now = clock.now();
      if (now + delay >= state.deadline || now + delay >= giveUpAt) throw error;
      try {
        await sleep(clock, delay, signal);
      } catch {
        throw abortedExtend();
      }
    }
  }

  /**
   * Release a lock on every node. Idempotent and bounded: it never throws because the lock
   * already expired, and it retries (only with an explicit `retryCount`) no longer than the keys
   * could live. Every handle of the lock is invalidated at once (`expiration` 0), and an
   * extension still under way hands out no validity.
   * @returns the outcome: `released`, `expired`, `not-held`, `already-released` or `partial`
   * @throws {InvalidArgumentError} if `lock` is not a lock
   */
  release(lock: Lock, settings?: Partial<Settings>): Promise<ReleaseResult> {
    let parts: { resources: string[]; value: string; state: LockState };
    let s = this.#releaseSettings;
    try {
      parts = this.#lockParts(lock);
      if (settings !== undefined) {
        const options = readSettings(settings);
        s = mergeSettings(this.settings, { ...options, retryCount: options.retryCount ?? 0 });
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const { resources, value, state } = parts;
    const releasedBefore = state.released;
    state.released = true;
    const keys = this.keyPrefix ? this.#keys(resources) : resources;
    // Someone in this process waits for one of the keys: each node's release wakes it directly.
    const waited = this.#handoff.releasing(keys);
    const attempt = this.#releaseAttempt(keys, value, s.nodeTimeout, state, waited);
    // Without retries (the default), one attempt and no async frame: release is on every path.
    if (maxAttempts(s.retryCount) === 1) {
      return attempt.decision.then((decision) => {
        this.#settling(attempt);
        const result = releaseResult(decision, keys.length, [attempt], releasedBefore);
        this.emit("released", lock, result);
        return result;
      });
    }
    return this.#releaseRetrying(lock, keys, value, state, s, waited, attempt, releasedBefore);
  }

  /** The rest of a release that may retry, after its first attempt. */
  async #releaseRetrying(
    lock: Lock,
    keys: readonly string[],
    value: string,
    state: LockState,
    s: Readonly<Settings>,
    waited: boolean,
    first: Attempt<ReleaseDetail>,
    releasedBefore: boolean,
  ): Promise<ReleaseResult> {
    const attempts: StatsSource[] = [];
    let attempt = first;
    for (let n = 1; ; n++) {
      const decision = await attempt.decision;
      this.#settling(attempt);
      keepAttempt(attempts, attempt);
      const delay = retryDelay(s);
      const retry =
        !decision.granted &&
        n < maxAttempts(s.retryCount) &&
        this.clock.now() + delay < state.keysGoneBy;
      if (!retry) {
        const result = releaseResult(decision, keys.length, attempts, releasedBefore);
        this.emit("released", lock, result);
        return result;
      }
      await sleep(this.clock, delay);
      attempt = this.#releaseAttempt(keys, value, s.nodeTimeout, state, waited);
    }
  }

  /**
   * One release attempt, decided at quorum like every other: the nodes still answering go on in
   * the background (`idle()` waits for them), so a release never pays for the slowest node.
   */
  #releaseAttempt(
    keys: readonly string[],
    value: string,
    timeout: number,
    state: LockState,
    waited: boolean,
  ): Attempt<ReleaseDetail> {
    const primitive = state.primitive;
    const attempt = this.#attempt(
      primitive?.releaseScript ?? this.scripts.releaseScript,
      !primitive && this.#linedRelease ? this.#lined(keys) : keys,
      this.#releaseArgs(keys, value, primitive),
      timeout,
      releaseVote(keys.length),
    );
    if (waited) {
      const handoff = this.#handoff;
      attempt.forEachVote((node, kind, detail) => {
        // With other processes listening too, the waiter here hears the announcement with
        // them instead: every process learns of the release at about the same moment, and
        // the one that released gets no head start.
        if (kind === "for" && (detail?.heard ?? -1) <= 1) handoff.releasedOn(keys, node);
      });
    }
    return attempt;
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
    if (typeof settingsOrRoutine === "function" && maybeRoutine !== undefined) {
      return Promise.reject(
        new InvalidArgumentError(
          "INVALID_ROUTINE",
          "using",
          "settings come before the routine: using(resources, duration, settings, routine). " +
            "Settings passed after the routine would be ignored; nothing was sent.",
        ),
      );
    }
    const routine = typeof settingsOrRoutine === "function" ? settingsOrRoutine : maybeRoutine;
    const settings = typeof settingsOrRoutine === "function" ? undefined : settingsOrRoutine;
    return using(this, resources, duration, settings, routine);
  }

  /**
   * A counting semaphore on `resource` over this instance's nodes: at most `limit` permits held
   * at once, each holder's permits expiring on their own. See {@link Semaphore}.
   * @throws {InvalidArgumentError} a bad resource name or limit
   * @example
   * ```ts
   * const uploads = redlock.semaphore("uploads", { limit: 4 });
   * await uploads.using(10_000, async (signal) => upload(file, { signal }));
   * ```
   */
  semaphore(resource: string, options: SemaphoreOptions): Semaphore {
    return new Semaphore(this, resource, options);
  }

  /**
   * A read-write lock on `resource` over this instance's nodes: many readers or one writer, with
   * writers preferred. See {@link ReadWriteLock}.
   * @throws {InvalidArgumentError} a bad resource name
   * @example
   * ```ts
   * const cache = redlock.readWriteLock("cache:products");
   * await cache.usingRead(5000, async () => serve(await readCache()));
   * await cache.usingWrite(30_000, async (signal) => rebuildCache({ signal }));
   * ```
   */
  readWriteLock(resource: string): ReadWriteLock {
    return new ReadWriteLock(this, resource);
  }

  /**
   * A `Lock` for a value obtained elsewhere, such as from the process that acquired it (an HTTP
   * handler that hands the job to a worker). The value is verified on a majority of nodes before
   * the lock is returned; its validity comes from the smallest remaining TTL those nodes report,
   * less the clock-drift allowance. The returned lock extends, releases and works with `using`
   * like any other. The value is a bearer secret: whoever has it can extend or release the lock,
   * so pass it only over channels you would pass a credential over.
   * @param resources the lock's resources, as given to `acquire`
   * @param value the lock's `value`
   * @param settings timing settings for this call (retries apply to failed nodes only)
   * @throws {LockExpiredError} the lock's keys are gone (it expired or was released)
   * @throws {ResourceLockedError} another lock holds the resources
   * @throws {QuorumUnreachableError} too many nodes failed
   * @throws {InvalidArgumentError} bad input, before anything is sent
   */
  async adopt(
    resources: string | readonly string[],
    value: string,
    settings?: Partial<Settings>,
  ): Promise<Lock> {
    const names = validateResources(resources);
    validateValue(value);
    const s =
      settings === undefined ? this.settings : mergeSettings(this.settings, readSettings(settings));
    const keys = this.#keys(names);
    const attempts: StatsSource[] = [];
    for (let n = 1; ; n++) {
      const start = this.clock.now();
      const attempt = this.#attempt(
        this.scripts.adoptScript,
        keys,
        [value],
        s.nodeTimeout,
        adoptVote,
      );
      const decision = await attempt.decision;
      keepAttempt(attempts, attempt);
      if (decision.granted) {
        const least = Math.min(...decision.details);
        const longest = Math.max(...decision.details);
        const driftMs = drift(least, s.driftFactor);
        const left = validity(least, this.clock.now() - start, s.driftFactor);
        if (left <= 0) {
          throw new LockExpiredError(
            `Could not adopt ${list(names)}: the lock has no validity left.`,
            statsOf(attempts),
          );
        }
        const state: LockState = {
          deadline: start + least - driftMs,
          keysGoneBy: start + longest + drift(longest, s.driftFactor),
          expiration: this.clock.wallNow() + left,
          generation: 0,
          released: false,
        };
        return handleFor(this, names, value, attempts, state);
      }
      const error = failure("adopt", names, decision, attempts, this.#runners.length);
      if (!(error instanceof QuorumUnreachableError) || n >= maxAttempts(s.retryCount)) {
        throw error;
      }
      await sleep(this.clock, retryDelay(s));
    }
  }

  /**
   * What the nodes hold for `resources`, without changing anything: per node, whether each
   * resource is held, free or holds another primitive's key, its remaining TTL, and whether it
   * is the lock passed as `lock` (other holders' values are never revealed); and the quorum's
   * view with the same drift math as locks. Waits for every node's reply, bounded by
   * `nodeTimeout`.
   * @param resources the resources to look at
   * @param lock a lock (or its `value`) to recognize as yours
   * @throws {InvalidArgumentError} bad input, before anything is sent
   */
  async inspect(
    resources: string | readonly string[],
    lock?: Lock | string,
  ): Promise<ResourceInspection[]> {
    const names = validateResources(resources);
    const value = lock === undefined ? "" : typeof lock === "string" ? lock : lock.value;
    if (value !== "") validateValue(value);
    const keys = this.#keys(names);
    const start = this.clock.now();
    const attempt = this.#attempt(
      this.scripts.inspectScript,
      keys,
      [value],
      this.settings.nodeTimeout,
      inspectVote(keys.length),
    );
    const stats = await attempt.stats;
    const elapsed = this.clock.now() - start;
    const reports: (readonly InspectDetail[] | Error)[] = new Array(this.#runners.length);
    attempt.forEachVote((node, _kind, detail) => {
      const runner = this.#runners[node] as ScriptRunner;
      reports[node] = detail ?? (stats.votesAgainst.get(runner) as Error);
    });
    return names.map((resource, k) =>
      summarizeInspection(resource, k, reports, this.#names, elapsed, this.settings.driftFactor),
    );
  }

  /** Resources, value and shared state of a lock; a lock-like copy gets a state of its own. */
  #lockParts(lock: Lock): { resources: string[]; value: string; state: LockState } {
    const { resources, value } = validateLock(lock);
    let state = lockState(lock);
    if (!state) {
      let expiration = 0;
      try {
        expiration = Number(lock.expiration) || 0;
      } catch {
        // An unreadable expiration counts as expired.
      }
      const deadline = this.clock.now() + (expiration - this.clock.wallNow());
      state = {
        deadline,
        keysGoneBy: deadline,
        expiration,
        generation: 0,
        released: false,
      };
    }
    return { resources, value, state };
  }

  /** The keys followed by their waiting lines, for the built-in acquire and release scripts. */
  #lined(keys: readonly string[]): string[] {
    const all = keys.slice();
    for (const key of keys) all.push(waitingLineKey(key, this.keyPrefix));
    return all;
  }

  /**
   * A waiter undoing the partial grants of an attempt that lost the race passes its `line`: a
   * turn it had there stays its own instead of passing on.
   */
  #releaseArgs(
    keys: readonly string[],
    value: string,
    primitive?: Primitive,
    line?: Line,
  ): (string | number)[] {
    if (primitive) return [value, ...primitive.releaseArgs];
    if (!this.#linedRelease) return [value];
    return line ? [value, keys.length, line.id] : [value, keys.length];
  }

  #keys(resources: readonly string[]): string[] {
    return this.keyPrefix ? resources.map((name) => this.keyPrefix + name) : [...resources];
  }

  /** The confirmation step of `replicaSync`, once every runner was found able to wait. */
  #replicaConfirm(sync: ReplicaSync): (node: number, reply: unknown) => Promise<unknown> {
    const { replicas, timeout, aof = false } = sync;
    this.#runners.forEach((runner, node) => {
      if (typeof runner.waitReplicas !== "function") {
        throw new InvalidArgumentError(
          "INVALID_SETTING",
          "settings.replicaSync",
          `node ${this.#names[node]} cannot wait for replicas (its runner has no waitReplicas); use a standalone client of an adapter that supports it.`,
        );
      }
    });
    return async (node, reply) => {
      // Only a grant wrote something to wait for: refusals and errors count as they are.
      if (!isFullCount(reply) && !(Array.isArray(reply) && reply[0] === 1)) return reply;
      const runner = this.#runners[node] as ScriptRunner;
      const acknowledged = await (runner.waitReplicas as NonNullable<ScriptRunner["waitReplicas"]>)(
        replicas,
        timeout,
        aof,
      );
      if (!(acknowledged >= replicas)) {
        throw new NodeError(
          this.#names[node] as string,
          `${acknowledged} of ${replicas} replicas acknowledged the grant within ${timeout} ms (${aof ? "WAITAOF" : "WAIT"}); the vote does not count`,
          { code: "REPLICA_SYNC_FAILED" },
        );
      }
      return reply;
    };
  }

  #attempt<D>(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    timeout: number,
    classify: Classify<D>,
    needed?: number,
  ): Attempt<D> {
    return runAttempt({
      quorum: needed,
      confirm:
        this.#confirm && (script.name === "acquire" || script.name === "extend")
          ? this.#confirm
          : undefined,
      runners: this.#runners,
      names: this.#names,
      script,
      keys,
      args,
      timeout: Math.max(1, timeout),
      deadlines: this.#deadlines,
      classify,
      onNodeError: this.#onNodeError,
    });
  }

  readonly #onNodeError = (error: NodeError) => {
    this.emit("error", error);
  };

  /** One acquire request to every node: the plain script, or the guarded one for fencing or the restart guard. */
  #requestGrant(
    keys: readonly string[],
    value: string,
    duration: number,
    fencing: boolean,
    timeout: number,
    lineId = "",
    line?: Line,
    othersWait = false,
    waited = 0,
  ): Attempt<number> {
    if (!fencing && !this.#guard) {
      return this.#attempt(
        this.scripts.acquireScript,
        this.#linedAcquire ? this.#lined(keys) : keys,
        this.#linedAcquire
          ? [
              value,
              duration,
              `${lineId} ${line?.checkin ?? 0} ${line?.window ?? 0} ${othersWait ? 1 : 0} ${waited}`,
            ]
          : [value, duration],
        timeout,
        countVote(keys.length, "acquire"),
      );
    }
    const guardedKeys = [
      ...keys,
      ...(fencing
        ? keys.map((key) => fenceKey(key.slice(this.keyPrefix.length), this.keyPrefix))
        : []),
      ...(this.#guard ? [this.#guard.markerKey] : []),
    ];
    const firstLine = guardedKeys.length + 1;
    for (const key of keys) guardedKeys.push(waitingLineKey(key, this.keyPrefix));
    return this.#attempt(
      this.scripts.acquireGuardedScript,
      guardedKeys,
      [
        value,
        duration,
        keys.length,
        fencing ? "1" : "0",
        this.#guard?.period ?? 0,
        firstLine,
        lineId,
        line?.checkin ?? 0,
        line?.window ?? 0,
        othersWait ? "1" : "0",
        waited,
      ],
      timeout,
      guardedVote(keys.length),
    );
  }

  /** One try of a semaphore's or read-write lock's acquire script, decided at its own quorum. */
  #requestPrimitive(
    primitive: Primitive,
    keys: readonly string[],
    value: string,
    duration: number,
    timeout: number,
  ): Attempt<number> {
    return this.#attempt(
      primitive.acquireScript,
      keys,
      [value, duration, ...primitive.acquireArgs],
      timeout,
      primitive.acquireVote,
      primitive.quorum,
    );
  }

  /**
   * Read-max-then-write-back: the granted quorum reported its counters, and `token` is one more
   * than their maximum; record it on a majority before the lock is handed out, so every later
   * quorum (which intersects this majority) reads at least this token. Nothing is recorded once
   * no validity is left (the caller then fails with `LockExpiredError`).
   */
  #fence(
    names: string[],
    keys: readonly string[],
    token: number,
    duration: number,
    start: number,
    s: Readonly<Settings>,
    attempts: StatsSource[],
  ): Promise<ExecutionError | undefined> | undefined {
    const left = validity(duration, this.clock.now() - start, s.driftFactor);
    if (left <= 0) return undefined;
    return this.#recordToken(names, keys, token, Math.min(s.nodeTimeout, left), attempts);
  }

  async #recordToken(
    names: readonly string[],
    keys: readonly string[],
    token: number,
    timeout: number,
    attempts: readonly StatsSource[],
  ): Promise<ExecutionError | undefined> {
    const counters = keys.map((key) => fenceKey(key.slice(this.keyPrefix.length), this.keyPrefix));
    const written = await this.#attempt(
      this.scripts.fenceScript,
      counters,
      [token],
      timeout,
      countVote(counters.length, "fence"),
    ).decision;
    if (written.granted) return undefined;
    return new QuorumUnreachableError(
      `Acquired ${list(names)}, but could not record its fencing token on a quorum.`,
      statsOf(attempts),
      { cause: new AggregateError(written.failures, "fencing token write-back failed") },
    );
  }

  /**
   * Undo a failed or abandoned attempt in the background ({@link Redlock.idle} waits for it):
   * release it on each node that granted it or failed to answer clearly, as soon as that node's
   * reply is in, so the release always follows the request it undoes, and send nothing to
   * nodes that refused it.
   */
  #releasePartial(
    keys: readonly string[],
    value: string,
    timeout: number,
    attempt: Attempt<number>,
    primitive: Primitive | undefined,
    line?: Line,
  ): void {
    const total = this.#runners.length;
    const undone = new Promise<void>((resolve) => {
      const releases: Promise<unknown>[] = [];
      let answered = 0;
      attempt.forEachVote((node, kind) => {
        if (kind === "for" || kind === "failed") {
          releases.push(this.#releaseOn(node, keys, value, timeout, primitive, line));
        }
        if (++answered === total) void Promise.allSettled(releases).then(() => resolve());
      });
    });
    this.#background.add(undone);
    void undone.finally(() => this.#background.delete(undone));
  }

  /** An attempt decided before every node answered: `idle()` waits for the rest. */
  #settling<D>(attempt: Attempt<D>): void {
    if (attempt.pending === 0) return;
    const settled = attempt.stats;
    this.#background.add(settled);
    void settled.finally(() => this.#background.delete(settled));
  }

  /** Release `value` on one node. */
  #releaseOn(
    node: number,
    keys: readonly string[],
    value: string,
    timeout: number,
    primitive?: Primitive,
    line?: Line,
  ): Promise<unknown> {
    return runAttempt({
      runners: [this.#runners[node] as ScriptRunner],
      names: [this.#names[node] as string],
      script: primitive?.releaseScript ?? this.scripts.releaseScript,
      keys: !primitive && this.#linedRelease ? this.#lined(keys) : keys,
      args: this.#releaseArgs(keys, value, primitive, line),
      timeout: Math.max(1, timeout),
      deadlines: this.#deadlines,
      classify: releaseVote(keys.length),
      onNodeError: this.#onNodeError,
    }).decision;
  }
}

/** A plain acquire or extend reply that granted: a positive count (one per key). */
function isFullCount(reply: unknown): boolean {
  return typeof reply === "number" && Number.isSafeInteger(reply) && reply > 0;
}
