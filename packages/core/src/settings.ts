import type { Clock } from "./clock";
import type { Lock } from "./lock";

/** Timing and retry settings, node-redlock v5's plus `nodeTimeout`. */
export interface Settings {
  /**
   * Fraction of the duration held back for clock-rate differences between nodes.
   * @default 0.01
   */
  readonly driftFactor: number;
  /**
   * Retries after the first attempt; `-1` or `Infinity` retries until the signal aborts or
   * `acquireTimeout` passes. `0` means exactly one attempt.
   * @default 10
   */
  readonly retryCount: number;
  /** Milliseconds between attempts. @default 200 */
  readonly retryDelay: number;
  /** Up to this many milliseconds are added to or taken from each delay, at random. @default 100 */
  readonly retryJitter: number;
  /** `using()` extends the lock when this many milliseconds of validity are left. @default 500 */
  readonly automaticExtensionThreshold: number;
  /**
   * Milliseconds to wait for one node's reply before counting it as a vote against. Acquire
   * and extend also stop waiting once no validity could be left.
   * @default 1000
   */
  readonly nodeTimeout: number;
}

/** The defaults, frozen. */
export const defaultSettings: Readonly<Settings> = Object.freeze({
  driftFactor: 0.01,
  retryCount: 10,
  retryDelay: 200,
  retryJitter: 100,
  automaticExtensionThreshold: 500,
  nodeTimeout: 1000,
});

/** Options of the `Redlock` constructor: default settings plus instance-wide options. */
export interface RedlockOptions extends Partial<Settings> {
  /**
   * Prepended to every resource name to form the Redis key, and to the reserved keys (fencing
   * counters, the restart guard's marker) under `<keyPrefix>__redlock__:`. It may not contain
   * `__redlock__:`. Leave empty to share locks with node-redlock, which uses resource names as
   * keys.
   * @default ""
   */
  readonly keyPrefix?: string;
  /**
   * The shortest lock duration accepted, in milliseconds. A shorter one is refused with an
   * `InvalidArgumentError`: it is almost always seconds passed as milliseconds (`5` for 5 s).
   * Lower it in tests that need very short locks.
   * @default 100
   */
  readonly minDuration?: number;
  /** Time source for validity and timers; replace it in tests. @default systemClock */
  readonly clock?: Clock;
  /**
   * Runner names identify nodes: the adapters name each runner after its server (host and port,
   * socket path, cluster or sentinel addresses, or REST URL; never credentials, and not the
   * database number, since the databases of one server fail together). Two runners with the same
   * name are refused with an `InvalidArgumentError` (`reason` `DUPLICATE_NODE`), because one
   * server counted twice lets a single restart or `FLUSHALL` hand a lock to a second holder.
   * Set `true` only when your names are not addresses (several runners that you named alike on
   * purpose). Runners without a name are never compared.
   * @default false
   */
  readonly allowDuplicateNodeNames?: boolean;
  /**
   * Keep a node that lost its data out of grants for `period` ms, the "delayed restart" of the
   * Redlock spec done by the client. Each node keeps a boot marker key (no TTL,
   * `<keyPrefix>__redlock__:boot`); when it is missing (a restart without persistence, a flush, a
   * new node) the node grants nothing until the marker is `period` ms old. Set `period` to at
   * least your longest lock duration. A marker key that holds anything but a marker (such as a
   * lock value) is never overwritten: that node fails the acquisition with an error instead.
   * @default off
   */
  readonly restartGuard?: RestartGuard;
  /**
   * For nodes that are primaries with replicas behind a failover (Sentinel, a managed service),
   * not independent servers: after a node grants an acquisition or extension, send `WAIT
   * replicas timeout` (or `WAITAOF 1 replicas timeout` with `aof`, Redis 7.2+) on the same
   * connection, and count the node's vote only when `replicas` replicas acknowledged the write
   * within `timeout` ms. A failover to a replica then cannot lose a granted lock. Each runner
   * must have `waitReplicas` (ioredis, node-redis, Valkey GLIDE and Bun standalone clients do).
   * @default off
   */
  readonly replicaSync?: ReplicaSync;
}

/** Options of {@link RedlockOptions.replicaSync}. */
export interface ReplicaSync {
  /** Replicas that must acknowledge each grant. A whole number from 1. */
  readonly replicas: number;
  /** Milliseconds to wait for them; below `nodeTimeout`. */
  readonly timeout: number;
  /** Wait for the write to reach the append-only file of the primary and the replicas (`WAITAOF`, Redis 7.2+). @default false */
  readonly aof?: boolean;
}

/** Options of the restart guard. */
export interface RestartGuard {
  /** Quarantine in ms after a node is found without its marker; at least the longest lock TTL. */
  readonly period: number;
  /**
   * The marker key on every node, before `keyPrefix`. It must lie in the reserved namespace
   * `__redlock__:` (which resource names cannot use) and outside `__redlock__:fence:`, or the
   * constructor throws an `InvalidArgumentError`.
   * @default "__redlock__:boot"
   */
  readonly markerKey?: string;
}

/** Per-call settings of `acquire()`. */
export interface AcquireSettings extends Partial<Settings> {
  /** Abort a pending acquisition; partial grants are released and an `AbortedError` is thrown. */
  readonly signal?: AbortSignal;
  /** Give up retrying after this many milliseconds in total. @default unlimited */
  readonly acquireTimeout?: number;
  /**
   * Give the lock a fencing token (`lock.fencingToken`): strictly greater than the token of every
   * lock on the same resources whose acquisition finished before this one began, as long as no
   * node loses acknowledged writes. Costs one more round trip.
   * @default false
   */
  readonly fencing?: boolean;
}

/** Per-call settings of `using()`. */
export interface UsingSettings extends AcquireSettings {
  /** Stop extending after this many extensions; the signal then fires at the validity deadline. */
  readonly maxExtensions?: number;
  /** Stop extending once the lock has been held this many milliseconds. */
  readonly maxHoldTime?: number;
  /**
   * Called once when the lock is lost (validity ran out before an extension succeeded).
   * Errors it throws and rejections of a promise it returns are ignored. @default no-op
   */
  readonly onLockLost?: (error: Error, lock: Lock) => void;
}

/** `base` with every numeric setting present in `overrides` applied. @internal */
export function mergeSettings(base: Readonly<Settings>, overrides?: Partial<Settings>): Settings {
  let out: Record<string, number> | undefined;
  if (overrides) {
    for (const key of SETTING_NAMES) {
      const value = overrides[key];
      if (typeof value === "number" && value !== base[key]) {
        out ??= { ...base };
        out[key] = value;
      }
    }
  }
  return (out ?? base) as Settings;
}

const SETTING_NAMES = Object.keys(defaultSettings) as (keyof Settings)[];
