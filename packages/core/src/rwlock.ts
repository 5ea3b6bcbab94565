import { InvalidArgumentError } from "./errors";
import type { Primitive } from "./internal/primitive";
import { randomValue } from "./internal/random";
import { guardedVote } from "./internal/replies";
import type { Lock } from "./lock";
import { acquireKind, type Redlock } from "./redlock";
import { rwScripts } from "./scripts-rwlock";
import type { AcquireSettings, UsingSettings } from "./settings";
import { type UsingRoutine, using } from "./using";
import { validateDuration, validateResources } from "./validate";
import { quorum } from "./validity";

/** Per-call settings of `read()` and `write()`: the lock settings without fencing. */
export type ReadWriteSettings = Omit<AcquireSettings, "fencing">;

/** Per-call settings of `usingRead()` and `usingWrite()`. */
export type ReadWriteUsingSettings = Omit<UsingSettings, "fencing">;

/**
 * A read-write lock on one resource over the same nodes as its `Redlock`: many readers at once,
 * or one writer and no reader. Made by `redlock.readWriteLock(resource)`.
 *
 * Writers are preferred: a writer refused because readers hold the lock marks itself waiting on
 * the nodes, and new readers are refused until it got the lock (or gave up and its mark
 * expired), so a steady stream of readers cannot starve writers. Readers wait while a writer
 * holds or waits.
 *
 * Each hold is granted by a majority of nodes, with the validity, drift, retries, waiting (a
 * release wakes the next waiter), `using` and `await using` of locks; the handle is a `Lock`. A
 * write hold never overlaps another write or read hold of a valid holder: any two majorities
 * share a node, and that node admits a writer only alone. The lock lives in the resource's own
 * key (a hash of holders; see the docs): a plain lock or a semaphore on the same resource name
 * excludes it, and it excludes them.
 */
export class ReadWriteLock {
  /** The resource, as given. */
  readonly resource: string;
  readonly #redlock: Redlock;

  /** @internal Use `redlock.readWriteLock(resource)`. */
  constructor(redlock: Redlock, resource: string) {
    const [name] = validateResources([resource], "resource");
    this.#redlock = redlock;
    this.resource = name as string;
  }

  /** Take a read hold for `duration` ms, waiting and retrying like `redlock.acquire()`. */
  read(duration: number, settings?: ReadWriteSettings): Promise<Lock> {
    return this.#acquire("r", duration, settings);
  }

  /** Take the write hold for `duration` ms, waiting and retrying like `redlock.acquire()`. */
  write(duration: number, settings?: ReadWriteSettings): Promise<Lock> {
    return this.#acquire("w", duration, settings);
  }

  /** Run `routine` under a read hold that is extended automatically, as `redlock.using()`. */
  usingRead<T>(
    duration: number,
    settingsOrRoutine: ReadWriteUsingSettings | UsingRoutine<T>,
    maybeRoutine?: UsingRoutine<T>,
  ): Promise<T> {
    return this.#using("r", duration, settingsOrRoutine, maybeRoutine);
  }

  /** Run `routine` under the write hold, extended automatically, as `redlock.using()`. */
  usingWrite<T>(
    duration: number,
    settingsOrRoutine: ReadWriteUsingSettings | UsingRoutine<T>,
    maybeRoutine?: UsingRoutine<T>,
  ): Promise<T> {
    return this.#using("w", duration, settingsOrRoutine, maybeRoutine);
  }

  #acquire(sort: "r" | "w", duration: number, settings: ReadWriteSettings | undefined) {
    try {
      validateDuration(duration, this.#redlock.minDuration);
      const primitive = this.#primitive(sort, settings);
      return acquireKind(this.#redlock, primitive, [this.resource], duration, settings);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #using<T>(
    sort: "r" | "w",
    duration: number,
    settingsOrRoutine: ReadWriteUsingSettings | UsingRoutine<T> | undefined,
    maybeRoutine: UsingRoutine<T> | undefined,
  ): Promise<T> {
    const routine = typeof settingsOrRoutine === "function" ? settingsOrRoutine : maybeRoutine;
    const settings = typeof settingsOrRoutine === "function" ? undefined : settingsOrRoutine;
    try {
      const primitive = this.#primitive(sort, settings);
      return using(this.#redlock, [this.resource], duration, settings, routine, (names, ms, o) =>
        acquireKind(this.#redlock, primitive, names, ms, o),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The scripts of a read or write hold; a writer's waiting mark outlives the gaps between its tries. */
  #primitive(sort: "r" | "w", settings: ReadWriteSettings | undefined): Primitive {
    if ((settings as { fencing?: unknown } | undefined)?.fencing !== undefined) {
      throw new InvalidArgumentError(
        "UNKNOWN_SETTING",
        "settings.fencing",
        "fencing tokens are for locks; a read-write lock's readers run side by side.",
      );
    }
    const s = this.#redlock.settings;
    const retryDelay = settings?.retryDelay ?? s.retryDelay;
    const retryJitter = settings?.retryJitter ?? s.retryJitter;
    const nodeTimeout = settings?.nodeTimeout ?? s.nodeTimeout;
    const waitTtl = Math.max(100, 2 * (retryDelay + retryJitter) + nodeTimeout);
    return {
      label: sort === "r" ? "read lock" : "write lock",
      acquireScript: sort === "r" ? rwScripts.read : rwScripts.write,
      extendScript: rwScripts.extend,
      releaseScript: rwScripts.release,
      acquireArgs: sort === "r" ? [] : [randomValue(), waitTtl],
      extendArgs: [sort],
      releaseArgs: [sort],
      acquireVote: guardedVote(1),
      quorum: quorum(this.#redlock.runners.size),
    };
  }
}
