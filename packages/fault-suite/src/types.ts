/** The Redis drivers a worker can lock through (each through its adapter package). */
export type Driver = "ioredis" | "node-redis" | "upstash";

/** One lock node as a worker reaches it: a `redis://` URL, or an Upstash bridge URL and token. */
export interface NodeEndpoint {
  readonly url: string;
  readonly token?: string;
}

/** Everything a worker process needs; sent by the parent in the `start` message. */
export interface WorkerConfig {
  readonly id: number;
  readonly driver: Driver;
  readonly nodes: readonly NodeEndpoint[];
  /** The never-faulted redis-server holding the counters. */
  readonly oracleUrl: string;
  /** Resource names; each section picks one at random. */
  readonly resources: readonly string[];
  readonly ttl: number;
  /** Core's `nodeTimeout`, also the runner's reply timeout. */
  readonly nodeTimeout: number;
  /** Critical-section work time range in ms (inclusive). */
  readonly work: readonly [number, number];
  /** Idle time range in ms after a release, so that other workers get turns. */
  readonly idle: readonly [number, number];
  readonly retryDelay: number;
  readonly retryJitter: number;
  /**
   * Range for each `acquire()` call's `acquireTimeout` in ms: a worker gives up waiting after
   * a while and starts a fresh acquisition, as a request with a deadline would.
   */
  readonly acquireTimeout: readonly [number, number];
  readonly seed: number;
  /** Acquire with `{ fencing: true }` and guard every oracle access with the token. */
  readonly fencing: boolean;
  /** `restartGuard` option of the Redlock instance. */
  readonly restartGuard?: { readonly period: number };
  /**
   * Planted bug: lock with an effective quorum of this many nodes out of all of them. The worker
   * builds its Redlock over a window of `2q - 1` nodes starting at node `2 * id`, so workers
   * with different windows can each win a majority of their own window at the same time.
   */
  readonly brokenQuorum?: number;
  /**
   * Planted bug: the worker builds its Redlock over its own window of this many consecutive
   * nodes, starting at node `2 * id` (as `brokenQuorum` does, for semaphores, whose quorum
   * depends on their limit as well as on the number of nodes).
   */
  readonly nodeWindow?: number;
  /** What each section holds: a lock (the default), semaphore permits, or a read or write hold. */
  readonly primitive?: WorkerPrimitive;
}

/** The primitive a worker's sections hold, when it is not a plain lock. */
export type WorkerPrimitive =
  | {
      readonly kind: "semaphore";
      /** The limit this worker passes to `redlock.semaphore()`. */
      readonly limit: number;
      /** Permits per section, drawn uniformly from this list. */
      readonly permits: readonly number[];
    }
  | {
      readonly kind: "rwlock";
      /** Probability that a section writes (takes the write hold); the others read. */
      readonly writeShare: number;
      /** Planted bug: take a read hold for the sections that write. */
      readonly writeUnderRead?: boolean;
    };

/** How the section's oracle accesses went: fenced accesses with a stale token are rejected. */
export type Access = "ok" | "rejected-read" | "rejected-write";

/** One critical section as the worker saw it. Times are `monotonicNow()` ms. */
export interface SectionRecord {
  readonly worker: number;
  readonly resource: string;
  readonly seq: number;
  /** Just before `acquire()` was called (first attempt). */
  readonly acquireStart: number;
  /** Just after `acquire()` resolved. */
  readonly acquireEnd: number;
  readonly enter: number;
  readonly exit: number;
  /** `enter + lock.remainingTime()` read at entry: the local validity deadline. */
  readonly deadline: number;
  readonly overran: boolean;
  /** `lock.remainingTime()` at exit (0 once validity is gone). */
  readonly remainingAtExit: number;
  /** `Date.now() > lock.expiration` at exit. */
  readonly expirationPassedAtExit: boolean;
  readonly token?: number;
  readonly access: Access;
  /** The counter value read; the section writes `read + 1`. */
  readonly read: number;
  /** Acquire attempts the library made (`lock.attempts.length`). */
  readonly attempts: number;
  readonly workMs: number;
  /** Semaphore sections: how many permits the section held. */
  readonly permits?: number;
  /**
   * Read-write lock sections: what the section did. A `write` section reads and writes the
   * counter and must be alone; `read` sections only read it and may overlap each other.
   */
  readonly hold?: "read" | "write";
}

/** Counters a worker keeps besides its sections. */
export interface WorkerStats {
  readonly worker: number;
  readonly acquireFailures: Record<string, number>;
  readonly nodeErrors: Record<string, number>;
  readonly releaseOutcomes: Record<string, number>;
}

export type WorkerMessage =
  | { readonly type: "ready" }
  | {
      readonly type: "enter";
      readonly resource: string;
      readonly enter: number;
      readonly workMs: number;
      readonly deadline: number;
    }
  | { readonly type: "section"; readonly record: SectionRecord }
  | { readonly type: "done"; readonly stats: WorkerStats }
  | { readonly type: "fatal"; readonly error: string };

export type ParentMessage =
  | { readonly type: "start"; readonly config: WorkerConfig }
  | { readonly type: "stop" };
