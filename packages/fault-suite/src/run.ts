import { Redlock } from "@redlock/core";
import { type CheckOptions, type CheckReport, checkSections } from "./checker";
import { delay, monotonicNow } from "./clock";
import { FaultCluster } from "./cluster";
import { connectRunners } from "./drivers";
import { type FaultEvent, type FaultKind, Nemesis, type NemesisOptions } from "./nemesis";
import { counterKey } from "./oracle";
import { deriveSeed, Rng } from "./prng";
import type { Driver, WorkerConfig, WorkerPrimitive, WorkerStats } from "./types";
import { WorkerPool } from "./workers";

/** One fault run: workers locking under a nemesis for a fixed time, then checked. */
export interface RunSpec {
  readonly name: string;
  /** The lock workers' driver (and the default of the semaphore and read-write lock workers). */
  readonly driver: Driver;
  readonly seconds: number;
  /** Lock workers. */
  readonly workers: number;
  /**
   * Number of lock resources (each with its own counter); lock sections pick one at random.
   * Semaphore and read-write lock workers have a resource of their own each.
   */
  readonly resources: number;
  readonly ttl: number;
  readonly nodeTimeout: number;
  readonly work: readonly [number, number];
  readonly idle?: readonly [number, number];
  /** Core's retryDelay (jitter half of it). Default TTL / 25. */
  readonly retryDelay?: number;
  /** Range of each acquire call's `acquireTimeout`. Default 2–6 retry delays. */
  readonly acquireTimeout?: readonly [number, number];
  readonly fencing: boolean;
  /** Run the workers with `restartGuard: { period: ttl + 200 }` (markers planted first). */
  readonly restartGuard?: boolean;
  readonly brokenQuorum?: number;
  /** Planted bug: each worker locks over its own window of this many nodes (see `WorkerConfig`). */
  readonly nodeWindow?: number;
  /**
   * Semaphore workers, after the lock workers: each section takes `permits` (drawn from the
   * list) of a semaphore of `limit` on {@link SEMAPHORE_RESOURCE}, and the checker counts
   * permits against `limit`.
   */
  readonly semaphore?: {
    readonly workers: number;
    readonly driver?: Driver;
    readonly limit: number;
    readonly permits: readonly number[];
    /** Planted bug: these workers (0 is the group's first) create the semaphore with `limit + 1`. */
    readonly overLimitWorkers?: readonly number[];
  };
  /**
   * Read-write lock workers, after the semaphore workers, on {@link RW_RESOURCE}: a share of
   * sections write (the write hold), the others read.
   */
  readonly rwLock?: {
    readonly workers: number;
    readonly driver?: Driver;
    readonly writeShare: number;
    /** Planted bug: these workers (0 is the group's first) take a read hold for writing sections. */
    readonly writeUnderReadWorkers?: readonly number[];
  };
  readonly aof: readonly number[] | "all" | "none";
  /** Fault weights; empty for a run without faults. */
  readonly faults: Partial<Record<FaultKind, number>>;
  readonly nemesis?: Omit<NemesisOptions, "weights" | "ttl" | "lockKeys">;
  /** End the run early once the sections show a bug overlap (for the planted-bug self-tests). */
  readonly stopOnBug?: boolean;
  readonly seed: number;
}

/** Availability after a heal: the first section entered after it. */
export interface Recovery {
  readonly kind: FaultKind | "final";
  readonly healedAt: number;
  /** ms from the heal to the next section entry; undefined when none followed. */
  readonly ms: number | undefined;
}

export interface RunResult {
  readonly spec: RunSpec;
  readonly report: CheckReport;
  readonly events: readonly FaultEvent[];
  readonly faults: Partial<Record<FaultKind, number>>;
  readonly wallMs: number;
  readonly lockingMs: number;
  readonly sectionsPerSecond: number;
  readonly recoveries: readonly Recovery[];
  /** Lock keys seen without an expiry, as `node-i:key`, and how many checks were made. */
  readonly keysWithoutTtl: readonly string[];
  readonly ttlChecks: number;
  readonly workerStats: readonly WorkerStats[];
  readonly fatalErrors: readonly string[];
}

/** Resource names of a run's lock workers. */
export function resourceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `fault:res-${i}`);
}

/** The resource of a run's semaphore workers. */
export const SEMAPHORE_RESOURCE = "fault:sem";
/** The resource of a run's read-write lock workers. */
export const RW_RESOURCE = "fault:rw";

/** Every resource of a run: the lock resources, then the semaphore's and the read-write lock's. */
export function runResources(spec: RunSpec): string[] {
  return [
    ...resourceNames(spec.resources),
    ...(spec.semaphore ? [SEMAPHORE_RESOURCE] : []),
    ...(spec.rwLock ? [RW_RESOURCE] : []),
  ];
}

/** The drivers a run's workers use, lock workers' first. */
export function runDrivers(spec: RunSpec): Driver[] {
  const used = [
    ...(spec.workers > 0 ? [spec.driver] : []),
    ...(spec.semaphore ? [spec.semaphore.driver ?? spec.driver] : []),
    ...(spec.rwLock ? [spec.rwLock.driver ?? spec.driver] : []),
  ];
  return [...new Set(used)];
}

/**
 * Plant the restart guard's boot marker on every node (one guarded acquire; a node seen for the
 * first time is quarantined, so this acquire fails) and wait until the markers are old enough.
 */
export async function plantBootMarkers(cluster: FaultCluster, period: number): Promise<void> {
  const nodes = await connectRunners("ioredis", cluster.endpoints("ioredis"), 1000);
  let markers: unknown[] = [];
  try {
    const redlock = new Redlock(nodes.runners, { retryCount: 0, restartGuard: { period } });
    for (let round = 0; round < 5; round++) {
      await redlock.acquire(["fault:plant"], 1000).then(
        (lock) => lock.release(),
        () => undefined,
      );
      await delay(50);
      markers = await Promise.all(
        cluster.nodes.map((_, i) => cluster.call(i, 1000, "GET", "__redlock__:boot")),
      );
      if (markers.every((marker) => marker !== null)) break;
    }
  } finally {
    await nodes.close();
  }
  if (markers.some((marker) => marker === null)) {
    throw new Error(`boot markers missing after planting: ${JSON.stringify(markers)}`);
  }
  await delay(period + 50);
}

/** How the checker reads a run's sections: the true limit of its semaphore. */
export function checkOptions(spec: RunSpec): CheckOptions {
  return spec.semaphore ? { limits: { [SEMAPHORE_RESOURCE]: spec.semaphore.limit } } : {};
}

/** One worker of a run: what it holds, over which driver, on which resources. */
interface WorkerRole {
  readonly driver: Driver;
  readonly resources: readonly string[];
  readonly primitive?: WorkerPrimitive;
}

/** The roles of a run's workers, by id: lock workers, then semaphore, then read-write lock. */
function workerRoles(spec: RunSpec): WorkerRole[] {
  const { semaphore, rwLock } = spec;
  const roles: WorkerRole[] = [];
  const locks = resourceNames(spec.resources);
  for (let k = 0; k < spec.workers; k++) roles.push({ driver: spec.driver, resources: locks });
  for (let k = 0; semaphore && k < semaphore.workers; k++) {
    const over = semaphore.overLimitWorkers?.includes(k) ?? false;
    roles.push({
      driver: semaphore.driver ?? spec.driver,
      resources: [SEMAPHORE_RESOURCE],
      primitive: {
        kind: "semaphore",
        limit: semaphore.limit + (over ? 1 : 0),
        permits: semaphore.permits,
      },
    });
  }
  for (let k = 0; rwLock && k < rwLock.workers; k++) {
    roles.push({
      driver: rwLock.driver ?? spec.driver,
      resources: [RW_RESOURCE],
      primitive: {
        kind: "rwlock",
        writeShare: rwLock.writeShare,
        writeUnderRead: rwLock.writeUnderReadWorkers?.includes(k) ?? false,
      },
    });
  }
  return roles;
}

/** Worker configs for a run; each worker gets its own seed derived from the run's. */
export function workerConfigs(spec: RunSpec, cluster: FaultCluster): WorkerConfig[] {
  const retryDelay = spec.retryDelay ?? Math.round(spec.ttl / 25);
  return workerRoles(spec).map(({ driver, resources, primitive }, id) => ({
    id,
    driver,
    nodes: cluster.endpoints(driver),
    oracleUrl: cluster.oracleUrl,
    resources,
    ttl: spec.ttl,
    nodeTimeout: spec.nodeTimeout,
    work: spec.work,
    idle: spec.idle ?? [0, retryDelay],
    retryDelay,
    retryJitter: Math.round(retryDelay / 2),
    acquireTimeout: spec.acquireTimeout ?? [2 * retryDelay, 6 * retryDelay],
    seed: deriveSeed(spec.seed, `worker-${id}`),
    fencing: spec.fencing,
    ...(spec.restartGuard ? { restartGuard: { period: spec.ttl + 200 } } : {}),
    ...(spec.brokenQuorum ? { brokenQuorum: spec.brokenQuorum } : {}),
    ...(spec.nodeWindow ? { nodeWindow: spec.nodeWindow } : {}),
    ...(primitive ? { primitive } : {}),
  }));
}

/** Run `spec` on a fresh cluster and check it. Everything is torn down, also on failure. */
export async function runFaultRun(spec: RunSpec): Promise<RunResult> {
  const wallStart = monotonicNow();
  const resources = runResources(spec);
  let cluster: FaultCluster | undefined;
  let pool: WorkerPool | undefined;
  let nemesis: Nemesis | undefined;
  let monitor: NodeJS.Timeout | undefined;
  try {
    cluster = await FaultCluster.start({
      aof: spec.aof,
      upstash: runDrivers(spec).includes("upstash"),
    });
    const ttlFound = new Set<string>();
    if (spec.restartGuard) await plantBootMarkers(cluster, spec.ttl + 200);
    pool = await WorkerPool.start(workerConfigs(spec, cluster));
    const start = monotonicNow();
    const end = start + spec.seconds * 1000;

    let ttlChecks = 0;
    let checking = false;
    const c = cluster;
    monitor = setInterval(() => {
      if (checking) return;
      checking = true;
      c.keysWithoutTtl(resources)
        .then((keys) => {
          ttlChecks++;
          for (const key of keys) ttlFound.add(key);
        })
        .finally(() => {
          checking = false;
        });
    }, 150);

    let stoppedEarly = false;
    const workers = pool;
    const watch = spec.stopOnBug
      ? setInterval(() => {
          if (checkSections(workers.records, {}, checkOptions(spec)).overlapsBug > 0) {
            stoppedEarly = true;
            nemesis?.stop();
          }
        }, 250)
      : undefined;
    try {
      if (Object.keys(spec.faults).length > 0) {
        nemesis = new Nemesis(cluster, pool, new Rng(deriveSeed(spec.seed, "nemesis")), {
          ...spec.nemesis,
          weights: spec.faults,
          ttl: spec.ttl,
          lockKeys: resources,
        });
        await nemesis.runUntil(end - 2.5 * spec.ttl);
      }
      const lastFaultHeal = Math.max(start, ...(nemesis?.events ?? []).map((e) => e.healedAt));
      const until = Math.max(end, lastFaultHeal + 2.5 * spec.ttl);
      while (!stoppedEarly && monotonicNow() < until) {
        await delay(Math.min(250, until - monotonicNow()));
      }
    } finally {
      clearInterval(watch);
    }
    const lockingMs = monotonicNow() - start;
    await cluster.healAll();
    await pool.stop();
    clearInterval(monitor);
    monitor = undefined;
    for (const key of await cluster.keysWithoutTtl(resources, 2000)) ttlFound.add(key);
    ttlChecks++;

    const counters = await cluster.counters(
      Object.fromEntries(resources.map((resource) => [resource, counterKey(resource)])),
    );
    const records = pool.records;
    const report = checkSections(records, counters, checkOptions(spec));
    const events = nemesis?.events ?? [];
    const enters = records.map((r) => r.enter).sort((a, b) => a - b);
    const firstAfter = (t: number) => enters.find((e) => e >= t);
    const recoveries: Recovery[] = events
      .filter((event) => event.recoveryCheck)
      .map((event) => {
        const next = firstAfter(event.healedAt);
        return {
          kind: event.kind,
          healedAt: event.healedAt,
          ms: next === undefined ? undefined : next - event.healedAt,
        };
      });
    const lastHeal = events.length ? Math.max(...events.map((e) => e.healedAt)) : start;
    const finalNext = firstAfter(lastHeal);
    recoveries.push({
      kind: "final",
      healedAt: lastHeal,
      ms: finalNext === undefined ? undefined : finalNext - lastHeal,
    });
    return {
      spec,
      report,
      events,
      faults: nemesis?.counts() ?? {},
      wallMs: monotonicNow() - wallStart,
      lockingMs,
      sectionsPerSecond: records.length / (lockingMs / 1000),
      recoveries,
      keysWithoutTtl: [...ttlFound],
      ttlChecks,
      workerStats: pool.stats,
      fatalErrors: pool.fatalErrors,
    };
  } finally {
    if (monitor) clearInterval(monitor);
    nemesis?.stop();
    pool?.kill();
    await cluster?.close().catch(() => undefined);
  }
}
