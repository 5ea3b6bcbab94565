import { InvalidArgumentError } from "./errors";
import type { Primitive } from "./internal/primitive";
import { guardedVote } from "./internal/replies";
import type { Lock } from "./lock";
import { acquireKind, type Redlock } from "./redlock";
import { semaphoreScripts } from "./scripts-semaphore";
import type { AcquireSettings, UsingSettings } from "./settings";
import { type UsingRoutine, using } from "./using";
import { validateDuration, validateResources } from "./validate";

/** Options of `redlock.semaphore()`. */
export interface SemaphoreOptions {
  /** How many permits may be held at once. A whole number from 1. */
  readonly limit: number;
}

/** Per-call settings of `Semaphore.acquire()`: the lock settings, plus how many permits to take. */
export interface SemaphoreAcquireSettings extends Omit<AcquireSettings, "fencing"> {
  /** Permits to take, all or nothing. @default 1 */
  readonly permits?: number;
}

/** Per-call settings of `Semaphore.using()`. */
export interface SemaphoreUsingSettings extends Omit<UsingSettings, "fencing"> {
  /** Permits to take, all or nothing. @default 1 */
  readonly permits?: number;
}

/**
 * Votes needed to grant permits of a semaphore of `limit` over `nodes` nodes: more than
 * `nodes × limit / (limit + 1)`. With fewer, `limit + 1` holders could each be granted on enough
 * nodes without any node admitting more than `limit`: a majority is enough only for `limit` 1.
 */
export function semaphoreQuorum(nodes: number, limit: number): number {
  return Math.min(nodes, Math.floor((nodes * limit) / (limit + 1)) + 1);
}

/**
 * A counting semaphore on one resource over the same nodes as its `Redlock`: at most `limit`
 * permits are held at once. Made by `redlock.semaphore(resource, { limit })`.
 *
 * Each holder's permits are all or nothing on each node and expire on their own after the
 * holder's duration, so a crashed holder's permits free themselves. A grant counts only with
 * the votes of more than `nodes × limit / (limit + 1)` nodes (a majority for `limit` 1, every
 * node for 3 nodes and a limit of 2 or more): with fewer, `limit + 1` holders could each be
 * granted on different nodes. Validity, drift, retries, waiting (a released permit wakes the
 * next waiter) and auto-extension work as for locks; the handle is a `Lock` (`release()`,
 * `extend()`, `remainingTime()`, `await using`).
 *
 * The semaphore lives in the resource's key (a sorted set of permits; see the safety docs): a
 * lock and a semaphore on the same resource name exclude each other. Fencing tokens and the
 * restart guard apply to locks only.
 */
export class Semaphore {
  /** The resource, as given. */
  readonly resource: string;
  /** The most permits held at once. */
  readonly limit: number;
  /** Nodes whose votes a grant needs. */
  readonly quorum: number;
  readonly #redlock: Redlock;

  /** @internal Use `redlock.semaphore(resource, { limit })`. */
  constructor(redlock: Redlock, resource: string, options: SemaphoreOptions) {
    const [name] = validateResources([resource], "resource");
    const limit = (options as Partial<SemaphoreOptions> | undefined)?.limit;
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        "options.limit",
        `expected a whole number of permits from 1, got ${String(limit)}.`,
      );
    }
    this.#redlock = redlock;
    this.resource = name as string;
    this.limit = limit;
    this.quorum = semaphoreQuorum(redlock.runners.size, limit);
  }

  /**
   * Take `permits` permits (default 1) for `duration` ms, waiting and retrying like
   * `redlock.acquire()`.
   * @returns a `Lock` on the permits: release, extend, `await using`
   * @throws {ResourceLockedError} too few permits were free on enough nodes (after retries)
   * @throws {QuorumUnreachableError} too many nodes failed
   * @throws {InvalidArgumentError} bad input, before anything is sent
   */
  acquire(duration: number, settings?: SemaphoreAcquireSettings): Promise<Lock> {
    try {
      validateDuration(duration, this.#redlock.minDuration);
      const { primitive, rest } = this.#primitive(settings);
      return acquireKind(this.#redlock, primitive, [this.resource], duration, rest);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Run `routine` while holding permits that are extended automatically, then give them back;
   * the same contract as `redlock.using()`.
   */
  using<T>(duration: number, routine: UsingRoutine<T>): Promise<T>;
  using<T>(
    duration: number,
    settings: SemaphoreUsingSettings | undefined,
    routine: UsingRoutine<T>,
  ): Promise<T>;
  using<T>(
    duration: number,
    settingsOrRoutine: SemaphoreUsingSettings | UsingRoutine<T> | undefined,
    maybeRoutine?: UsingRoutine<T>,
  ): Promise<T> {
    const routine = typeof settingsOrRoutine === "function" ? settingsOrRoutine : maybeRoutine;
    const settings = typeof settingsOrRoutine === "function" ? undefined : settingsOrRoutine;
    try {
      const { primitive, rest } = this.#primitive(settings);
      return using(this.#redlock, [this.resource], duration, rest, routine, (names, ms, options) =>
        acquireKind(this.#redlock, primitive, names, ms, options),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The scripts and arguments for `permits`, and the settings without it. */
  #primitive<S extends { permits?: number; fencing?: unknown }>(
    settings: S | undefined,
  ): { primitive: Primitive; rest: Omit<S, "permits"> | undefined } {
    if (settings !== undefined && (typeof settings !== "object" || settings === null)) {
      throw new InvalidArgumentError("INVALID_SETTING", "settings", "expected an object.");
    }
    const { permits = 1, ...rest } = settings ?? ({} as S);
    if (!Number.isSafeInteger(permits) || permits < 1 || permits > this.limit) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        "settings.permits",
        `expected a whole number of permits from 1 to the limit (${this.limit}), got ${String(permits)}.`,
      );
    }
    if ((rest as { fencing?: unknown }).fencing !== undefined) {
      throw new InvalidArgumentError(
        "UNKNOWN_SETTING",
        "settings.fencing",
        "fencing tokens are for locks; a semaphore's holders run side by side.",
      );
    }
    const primitive: Primitive = {
      label: "semaphore",
      acquireScript: semaphoreScripts.acquire,
      extendScript: semaphoreScripts.extend,
      releaseScript: semaphoreScripts.release,
      acquireArgs: [this.limit, permits],
      extendArgs: [permits],
      releaseArgs: [permits],
      acquireVote: guardedVote(1),
      quorum: this.quorum,
    };
    return { primitive, rest: settings === undefined ? undefined : rest };
  }
}
