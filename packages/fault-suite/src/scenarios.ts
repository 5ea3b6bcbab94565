/**
 * The deterministic scenarios S1–S9: fixed steps on a five-node cluster, driven from the test
 * process with in-process Redlock clients (S4 forks workers, since only a separate process can
 * be stopped while it holds a lock).
 */
import { type Lock, type NodeError, Redlock, type RedlockOptions } from "@redlock/core";
import { type CheckReport, checkSections, writesCounter } from "./checker";
import { delay, monotonicNow } from "./clock";
import type { FaultCluster } from "./cluster";
import { connectRunners } from "./drivers";
import { counterKey } from "./oracle";
import { deriveSeed } from "./prng";
import type { Driver, SectionRecord } from "./types";
import { WorkerPool } from "./workers";

export interface ScenarioContext {
  readonly cluster: FaultCluster;
  readonly driver: Driver;
  readonly ttl: number;
  readonly nodeTimeout: number;
}

/**
 * Time for clients to reconnect through a healed proxy (they retry every 25 ms) before the
 * contender of a scenario starts, so that its first attempt sees every node.
 */
const RECONNECTED_MS = 100;

/**
 * Per-node timeout of acquisitions whose subject is not that timeout (the holder a scenario
 * then attacks), where every reachable node must answer in time. The scenarios' own 50 ms is
 * for the timeouts under test; a busy machine misses it now and then.
 */
const PATIENT_NODE_TIMEOUT = 500;

interface LockClient {
  readonly redlock: Redlock;
  readonly errors: NodeError[];
  close(): Promise<void>;
}

/** A Redlock over the first `count` nodes (default all) with its own connections. */
async function lockClient(
  ctx: ScenarioContext,
  options: RedlockOptions = {},
  count = ctx.cluster.size,
): Promise<LockClient> {
  const endpoints = ctx.cluster.endpoints(ctx.driver).slice(0, count);
  const nodes = await connectRunners(ctx.driver, endpoints, ctx.nodeTimeout);
  const redlock = new Redlock(nodes.runners, {
    nodeTimeout: ctx.nodeTimeout,
    retryCount: 0,
    retryDelay: 20,
    retryJitter: 5,
    ...options,
  });
  const errors: NodeError[] = [];
  redlock.on("error", (error) => errors.push(error));
  return { redlock, errors, close: () => nodes.close() };
}

/**
 * The record of a holder that relies on its lock for its whole validity (in-process scenarios
 * write no counter; their records only feed the interval checker).
 */
function holderRecord(
  worker: number,
  resource: string,
  lock: Lock,
  acquireStart: number,
  holdsUntil: "deadline" | "now",
  extra: Pick<SectionRecord, "hold"> = {},
): SectionRecord {
  const acquireEnd = monotonicNow();
  const deadline = acquireEnd + lock.remainingTime();
  const exit = holdsUntil === "deadline" ? deadline : acquireEnd;
  return {
    worker,
    resource,
    seq: 0,
    acquireStart,
    acquireEnd,
    enter: acquireEnd,
    exit,
    deadline,
    overran: false,
    remainingAtExit: 0,
    expirationPassedAtExit: false,
    ...(lock.fencingToken === undefined ? {} : { token: lock.fencingToken }),
    access: "ok",
    read: 0,
    attempts: lock.attempts.length,
    workMs: 0,
    ...extra,
  };
}

/** Check in-process records, whose counter writes are taken as made (they have no oracle). */
function check(records: SectionRecord[]): CheckReport {
  const counters: Record<string, number> = {};
  for (const r of records) {
    if (writesCounter(r)) counters[r.resource] = (counters[r.resource] ?? 0) + 1;
  }
  return checkSections(records, counters);
}

/** Nodes whose value for `key` equals `value`. */
async function holders(cluster: FaultCluster, key: string, value: string): Promise<number[]> {
  const values = await cluster.values(key, 1000);
  return values.flatMap((v, i) => (v === value ? [i] : []));
}

/**
 * Read until `done` holds or `ms` pass, and return the last reading: for effects that reach a
 * node after the library stopped waiting for it (a request that timed out and lands late), which
 * a busy machine delays by an unknown amount.
 */
async function readUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000) {
  const until = monotonicNow() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || monotonicNow() >= until) return value;
    await delay(20);
  }
}

export type RestartMode = "volatile-immediate" | "volatile-delayed" | "aof-immediate";

export interface CrashRestartOutcome {
  readonly mode: RestartMode;
  /** Nodes holding A's key right after A acquired (nodes 3 and 4 were cut off). */
  readonly aHeldOn: number[];
  readonly bAcquired: boolean;
  /** ms from node 2's crash to B's entry. */
  readonly bAfterCrashMs: number | undefined;
  /** ms from A's deadline to B's entry (negative: B entered while A was valid). */
  readonly bAfterADeadlineMs: number | undefined;
  readonly report: CheckReport;
}

/**
 * S1–S3. A holds the lock on nodes {0,1,2} while 3 and 4 are cut off; node 2 crashes and comes
 * back (`mode`); 3 and 4 heal; B tries for up to 2.5 TTLs.
 */
export async function crashRestartScenario(
  ctx: ScenarioContext,
  mode: RestartMode,
): Promise<CrashRestartOutcome> {
  const { cluster, ttl } = ctx;
  const resource = `s-crash-${mode}`;
  const victim = cluster.nodes[2]!;
  const aof = mode === "aof-immediate";
  await victim.restart(aof ? { appendonly: true, appendfsync: "always" } : { appendonly: false });
  cluster.aof[2] = aof;
  await cluster.flush();
  const a = await lockClient(ctx);
  const b = await lockClient(ctx);
  let restarted: Promise<void> = Promise.resolve();
  try {
    cluster.proxies[3]!.reset();
    cluster.proxies[4]!.reset();
    const aStart = monotonicNow();
    const lockA = await a.redlock.acquire([resource], ttl, {
      retryCount: 3,
      nodeTimeout: PATIENT_NODE_TIMEOUT,
    });
    const recordA = holderRecord(0, resource, lockA, aStart, "deadline");
    const aHeldOn = await holders(cluster, resource, lockA.value);

    const crashAt = monotonicNow();
    await victim.kill();
    restarted =
      mode === "volatile-delayed"
        ? delay(ttl + 200).then(() => victim.restart())
        : victim.restart();
    if (mode !== "volatile-delayed") await restarted;
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await delay(RECONNECTED_MS);

    const bStart = monotonicNow();
    let lockB: Lock | undefined;
    try {
      lockB = await b.redlock.acquire([resource], ttl, {
        retryCount: -1,
        acquireTimeout: 2.5 * ttl,
      });
    } catch {
      lockB = undefined;
    }
    const records = [recordA];
    if (lockB) records.push(holderRecord(1, resource, lockB, bStart, "now"));
    await restarted;
    await lockA.release();
    await lockB?.release();
    const recordB = records[1];
    return {
      mode,
      aHeldOn,
      bAcquired: lockB !== undefined,
      bAfterCrashMs: recordB && recordB.enter - crashAt,
      bAfterADeadlineMs: recordB && recordB.enter - recordA.deadline,
      report: check(records),
    };
  } finally {
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await restarted.catch(() => undefined);
    await a.close();
    await b.close();
  }
}

export interface ReadWriteRestartOutcome {
  /** Nodes holding reader A's hold right after A acquired (nodes 3 and 4 were cut off). */
  readonly aHeldOn: number[];
  readonly bAcquired: boolean;
  /** ms from A's deadline to writer B's entry (negative: B entered while A was valid). */
  readonly bAfterADeadlineMs: number | undefined;
  readonly report: CheckReport;
}

/**
 * S9. S1 for a read-write lock: reader A holds on nodes {0,1,2} while 3 and 4 are cut off; node 2
 * crashes and restarts at once without persistence; 3 and 4 heal; writer B tries for up to 2.5
 * TTLs. The restart guard applies to locks only, so nothing keeps the emptied node out of B's
 * majority: the known limitation, shown rather than asserted away.
 */
export async function readWriteRestartScenario(
  ctx: ScenarioContext,
): Promise<ReadWriteRestartOutcome> {
  const { cluster, ttl } = ctx;
  const resource = "s9-rw-volatile-restart";
  const victim = cluster.nodes[2]!;
  await victim.restart({ appendonly: false });
  cluster.aof[2] = false;
  await cluster.flush();
  const a = await lockClient(ctx);
  const b = await lockClient(ctx);
  try {
    cluster.proxies[3]!.reset();
    cluster.proxies[4]!.reset();
    const aStart = monotonicNow();
    const lockA = await a.redlock.readWriteLock(resource).read(ttl, {
      retryCount: 3,
      nodeTimeout: PATIENT_NODE_TIMEOUT,
    });
    const recordA = holderRecord(0, resource, lockA, aStart, "deadline", { hold: "read" });
    const fields = await Promise.all(
      cluster.nodes.map((_, i) => cluster.call(i, 1000, "HEXISTS", resource, `r:${lockA.value}`)),
    );
    const aHeldOn = fields.flatMap((held, i) => (Number(held) === 1 ? [i] : []));

    await victim.kill();
    await victim.restart();
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await delay(RECONNECTED_MS);

    const bStart = monotonicNow();
    let lockB: Lock | undefined;
    try {
      lockB = await b.redlock.readWriteLock(resource).write(ttl, {
        retryCount: -1,
        acquireTimeout: 2.5 * ttl,
      });
    } catch {
      lockB = undefined;
    }
    const records = [recordA];
    if (lockB) records.push(holderRecord(1, resource, lockB, bStart, "now", { hold: "write" }));
    await lockA.release();
    await lockB?.release();
    const recordB = records[1];
    return {
      aHeldOn,
      bAcquired: lockB !== undefined,
      bAfterADeadlineMs: recordB && recordB.enter - recordA.deadline,
      report: check(records),
    };
  } finally {
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await a.close();
    await b.close();
  }
}

export interface FreezeOutcome {
  readonly fencing: boolean;
  readonly freezes: number;
  readonly records: readonly SectionRecord[];
  readonly report: CheckReport;
}

/** One S4 variant: three workers on one resource; twice, the worker that just entered is frozen. */
async function freezeVariant(
  ctx: ScenarioContext,
  fencing: boolean,
  seed: number,
): Promise<FreezeOutcome> {
  const { cluster, ttl } = ctx;
  const resource = `s-freeze-${fencing ? "fenced" : "plain"}`;
  const retryDelay = Math.round(ttl / 25);
  const pool = await WorkerPool.start(
    [0, 1, 2].map((id) => ({
      id,
      driver: ctx.driver,
      nodes: cluster.endpoints(ctx.driver),
      oracleUrl: cluster.oracleUrl,
      resources: [resource],
      ttl,
      nodeTimeout: ctx.nodeTimeout,
      work: [Math.round(0.2 * ttl), Math.round(0.4 * ttl)] as const,
      idle: [0, retryDelay] as const,
      retryDelay,
      retryJitter: Math.round(retryDelay / 2),
      acquireTimeout: [2 * retryDelay, 6 * retryDelay] as const,
      seed: deriveSeed(seed, `freeze-${fencing}-${id}`),
      fencing,
    })),
  );
  let freezes = 0;
  try {
    for (let k = 0; k < 2; k++) {
      const entered = await pool.nextEnter(3 * ttl);
      if (!entered) throw new Error("S4: no worker entered a section");
      pool.freeze(entered.worker);
      await delay(ttl + 300);
      pool.thaw(entered.worker);
      freezes++;
      await delay(Math.round(ttl / 4));
    }
    await pool.stop();
  } finally {
    pool.kill();
  }
  const errors = pool.fatalErrors;
  if (errors.length > 0) throw new Error(errors.join("\n"));
  const counters = await cluster.counters({ [resource]: counterKey(resource) });
  const records = pool.records;
  return { fencing, freezes, records, report: checkSections(records, counters) };
}

/**
 * S4. Long sections; the worker that just entered its section is stopped (SIGSTOP) for
 * TTL + 300 ms while the others go on, twice. Runs without and with fencing side by side.
 */
export async function workerFreezeScenario(
  ctx: ScenarioContext,
  seed: number,
): Promise<[FreezeOutcome, FreezeOutcome]> {
  await ctx.cluster.flush();
  return Promise.all([freezeVariant(ctx, false, seed), freezeVariant(ctx, true, seed)]);
}

export interface PausedMinorityOutcome {
  /** Acquire time and validity left with nodes 3 and 4 stopped. */
  readonly acquireMs: number;
  readonly remainingAfterAcquire: number;
  /** Release sent while 3 and 4 were stopped, then resumed: where the key is left. */
  readonly leftAfterReleaseWhilePaused: number[];
  /** Resumed before the release: where the late SET landed, and what the release left. */
  readonly lateSetOn: number[];
  readonly leftAfterRelease: number[];
  readonly keysWithoutTtl: string[];
}

/** S5. Nodes 3 and 4 are stopped during an acquire; their late SETs must be released too. */
export async function pausedMinorityScenario(ctx: ScenarioContext): Promise<PausedMinorityOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const a = await lockClient(ctx);
  const paused = [cluster.nodes[3]!, cluster.nodes[4]!];
  const pause = () => {
    for (const node of paused) node.pause();
  };
  const resume = () => {
    for (const node of paused) if (node.paused) node.resume();
  };
  try {
    const first = "s5-release-while-paused";
    pause();
    const t0 = monotonicNow();
    const lock = await a.redlock.acquire([first], ttl);
    const acquireMs = monotonicNow() - t0;
    const remainingAfterAcquire = lock.remainingTime();
    await lock.release();
    resume();
    await delay(150);
    const leftAfterReleaseWhilePaused = await holders(cluster, first, lock.value);

    const second = "s5-resume-then-release";
    pause();
    const lock2 = await a.redlock.acquire([second], ttl);
    // Every node answered or timed out: the paused ones' SETs are late from here on.
    await Promise.all(lock2.attempts);
    resume();
    const lateSetOn = await readUntil(
      () => holders(cluster, second, lock2.value),
      (on) => on.length === cluster.size,
    );
    const released = await lock2.release();
    await Promise.all(released.attempts);
    const leftAfterRelease = await holders(cluster, second, lock2.value);
    const keysWithoutTtl = await cluster.keysWithoutTtl([first, second], 1000);
    return {
      acquireMs,
      remainingAfterAcquire,
      leftAfterReleaseWhilePaused,
      lateSetOn,
      leftAfterRelease,
      keysWithoutTtl,
    };
  } finally {
    resume();
    await a.close();
  }
}

export interface QuorumMaskOutcome {
  readonly combinations: number;
  readonly mismatches: string[];
}

/**
 * S6. For N = 3 and 5, every subset of nodes is pre-clogged with a foreign value: the lock must
 * be granted exactly when the free nodes form a majority, and refused as RESOURCE_LOCKED.
 */
export async function quorumMaskScenario(ctx: ScenarioContext): Promise<QuorumMaskOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const mismatches: string[] = [];
  let combinations = 0;
  for (const n of [3, 5]) {
    // Which masks are granted is the subject here, not timeouts: a loaded machine must not turn
    // a free node's slow reply into a refusal.
    const client = await lockClient(
      { ...ctx, nodeTimeout: Math.max(ctx.nodeTimeout, 2000) },
      {},
      n,
    );
    try {
      for (let mask = 0; mask < 1 << n; mask++) {
        const resource = `s6-${n}-${mask}`;
        const clogged = Array.from({ length: n }, (_, i) => i).filter((i) => mask & (1 << i));
        await Promise.all(
          clogged.map((i) => cluster.call(i, 1000, "SET", resource, "foreign", "PX", 10000)),
        );
        const free = n - clogged.length;
        const expected = free >= Math.floor(n / 2) + 1;
        let granted = false;
        let code = "";
        try {
          const lock = await client.redlock.acquire([resource], ttl);
          granted = true;
          await lock.release();
        } catch (error) {
          code = (error as { code?: string }).code ?? String(error);
        }
        combinations++;
        if (granted !== expected || (!granted && code !== "RESOURCE_LOCKED")) {
          mismatches.push(
            `N=${n} clogged=[${clogged.join(",")}]: expected ${expected ? "granted" : "RESOURCE_LOCKED"}, got ${granted ? "granted" : code}`,
          );
        }
      }
    } finally {
      await client.close();
    }
  }
  return { combinations, mismatches };
}

export interface SlowNodeOutcome {
  readonly granted: boolean;
  readonly acquireMs: number;
  readonly timeoutEvents: number;
  /** The slow node got the SET late (it holds the lock's value before the release). */
  readonly lateSetApplied: boolean;
  /** Nodes that voted against the release once every node answered or timed out. */
  readonly releaseFailedNodes: number;
  /** The release reached the slow node: its key is gone afterwards. */
  readonly slowNodeCleaned: boolean;
}

/**
 * S7. Node 4 answers slower than the per-node timeout (proxy delay). The timeout is a patient one
 * and node 4 is slower by far, so on a busy machine no other node misses it.
 */
export async function slowNodeScenario(ctx: ScenarioContext): Promise<SlowNodeOutcome> {
  const { cluster } = ctx;
  const nodeTimeout = PATIENT_NODE_TIMEOUT;
  const ttl = Math.max(ctx.ttl, 4 * nodeTimeout);
  await cluster.flush();
  const resource = "s7-slow-node";
  const a = await lockClient({ ...ctx, nodeTimeout });
  const slow = cluster.proxies[4]!;
  try {
    // Every node has the scripts loaded: a late NOSCRIPT would leave no late SET to observe.
    await (await a.redlock.acquire([resource], ttl)).release();
    // The release is decided at quorum: node 4 must have it (and its script) before the delay.
    await a.redlock.idle();
    slow.delay(nodeTimeout + 200);
    const t0 = monotonicNow();
    const lock = await a.redlock.acquire([resource], ttl);
    const acquireMs = monotonicNow() - t0;
    // The slow node timed out; its SET lands late through the proxy's delay.
    await Promise.all(lock.attempts);
    const before = await readUntil(
      () => cluster.call(4, 1000, "GET", resource),
      (value) => value === lock.value,
    );
    const result = await lock.release();
    const stats = await result.attempts[result.attempts.length - 1];
    const after = await readUntil(
      () => cluster.call(4, 1000, "GET", resource),
      (value) => value === null,
    );
    return {
      granted: true,
      acquireMs,
      timeoutEvents: a.errors.filter((e) => e.code === "NODE_TIMEOUT" && e.node === "node-4")
        .length,
      lateSetApplied: before === lock.value,
      releaseFailedNodes: stats?.votesAgainst.size ?? -1,
      slowNodeCleaned: after === null,
    };
  } finally {
    slow.pass();
    await a.close();
  }
}

export interface ClockJumpOutcome {
  readonly aHeldOn: number[];
  readonly keysChanged: number;
  readonly bAcquired: boolean;
  readonly aValidWhenBEntered: boolean;
  readonly tokens: readonly [number | undefined, number | undefined];
  readonly report: CheckReport;
}

/**
 * S8. A holds the lock on {0,1,2} with a fencing token while 3 and 4 are cut off; node 2's clock
 * jumps past A's validity (emulated); 3 and 4 heal; B tries. Redlock does not survive this (the
 * documented limitation); the fencing token of B must still be larger than A's.
 */
export async function clockJumpScenario(ctx: ScenarioContext): Promise<ClockJumpOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const resource = "s8-clock-jump";
  const a = await lockClient(ctx);
  const b = await lockClient(ctx);
  try {
    cluster.proxies[3]!.reset();
    cluster.proxies[4]!.reset();
    const aStart = monotonicNow();
    const lockA = await a.redlock.acquire([resource], ttl, {
      fencing: true,
      retryCount: 3,
      nodeTimeout: PATIENT_NODE_TIMEOUT,
    });
    const recordA = holderRecord(0, resource, lockA, aStart, "deadline");
    const aHeldOn = await holders(cluster, resource, lockA.value);
    const keysChanged = await cluster.clockJump(2, [resource], lockA.remainingTime() + 100);
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await delay(RECONNECTED_MS);
    const bStart = monotonicNow();
    let lockB: Lock | undefined;
    try {
      lockB = await b.redlock.acquire([resource], ttl, {
        fencing: true,
        retryCount: -1,
        acquireTimeout: ttl,
      });
    } catch {
      lockB = undefined;
    }
    const records = [recordA];
    if (lockB) records.push(holderRecord(1, resource, lockB, bStart, "now"));
    await lockA.release();
    await lockB?.release();
    return {
      aHeldOn,
      keysChanged,
      bAcquired: lockB !== undefined,
      aValidWhenBEntered: records[1] !== undefined && records[1].enter < recordA.deadline,
      tokens: [lockA.fencingToken, lockB?.fencingToken],
      report: check(records),
    };
  } finally {
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await a.close();
    await b.close();
  }
}

export interface HandoffOutcome {
  /** ms from A's release to B's entry. */
  readonly afterReleaseMs: number | undefined;
  /** A's remaining validity when it released (what a waiter polling up to the TTL would lose). */
  readonly holderLeftMs: number;
}

/**
 * L1. Liveness of the hand-off: B waits for A's lock; A releases after 150 ms. B must enter
 * within a few round trips of the release (the README: a waiter is woken as soon as a quorum of
 * nodes announced the release), not when A's TTL would have run out.
 */
export async function handoffScenario(ctx: ScenarioContext): Promise<HandoffOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const resource = "l1-handoff";
  const a = await lockClient(ctx);
  const b = await lockClient(ctx);
  try {
    const lockA = await a.redlock.acquire([resource], ttl, {
      retryCount: 3,
      nodeTimeout: PATIENT_NODE_TIMEOUT,
    });
    const waiting = b.redlock.acquire([resource], ttl, { retryCount: -1, acquireTimeout: 3 * ttl });
    await delay(150);
    const holderLeftMs = lockA.remainingTime();
    const releasedAt = monotonicNow();
    await lockA.release();
    let afterReleaseMs: number | undefined;
    try {
      const lockB = await waiting;
      afterReleaseMs = monotonicNow() - releasedAt;
      await lockB.release();
    } catch {
      afterReleaseMs = undefined;
    }
    return { afterReleaseMs, holderLeftMs };
  } finally {
    await a.close();
    await b.close();
  }
}

export interface MinorityWaitOutcome {
  /** ms from the heal to B's entry. */
  readonly afterHealMs: number | undefined;
  /** TTL of the stale keys on the minority when B started. */
  readonly staleTtlMs: number;
}

/**
 * L2. Liveness after a partition heals: a stale lock survives on a minority (nodes 0 and 1),
 * nodes 3 and 4 are cut off when B starts and heal 100 ms later. From then on nodes {2, 3, 4}
 * are a free majority: B must enter within a few retry delays, not when the minority's stale
 * keys expire (no release will ever be announced for them on a majority).
 */
export async function minorityWaitScenario(ctx: ScenarioContext): Promise<MinorityWaitOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const resource = "l2-minority";
  const staleTtlMs = 2 * ttl;
  await cluster.call(0, 1000, "SET", resource, "stale", "PX", staleTtlMs);
  await cluster.call(1, 1000, "SET", resource, "stale", "PX", staleTtlMs);
  const b = await lockClient(ctx);
  try {
    cluster.proxies[3]!.reset();
    cluster.proxies[4]!.reset();
    const waiting = b.redlock.acquire([resource], ttl, { retryCount: -1, acquireTimeout: 3 * ttl });
    await delay(100);
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    const healedAt = monotonicNow();
    let afterHealMs: number | undefined;
    try {
      const lock = await waiting;
      afterHealMs = monotonicNow() - healedAt;
      await lock.release();
    } catch {
      afterHealMs = undefined;
    }
    return { afterHealMs, staleTtlMs };
  } finally {
    cluster.proxies[3]!.pass();
    cluster.proxies[4]!.pass();
    await b.close();
  }
}

export interface FailedSubscribeOutcome {
  /** ms from A's release to B's entry, on a key whose first SUBSCRIBE failed on nodes 2–4. */
  readonly afterReleaseMs: number | undefined;
}

/**
 * L3. A key whose first subscription failed on a majority must be heard once those nodes accept
 * SUBSCRIBE again. Nodes 2–4 refuse SUBSCRIBE (ACL) while B first waits for A's lock, then accept
 * it again; B waits a second time and A releases: B must enter within a few round trips. (The
 * ACL stands in for any failed SUBSCRIBE, such as a node unreachable when a key is first watched.)
 */
export async function failedSubscribeScenario(
  ctx: ScenarioContext,
): Promise<FailedSubscribeOutcome> {
  const { cluster, ttl } = ctx;
  await cluster.flush();
  const resource = "l3-failed-subscribe";
  const majority = [2, 3, 4];
  const a = await lockClient(ctx);
  const b = await lockClient(ctx);
  try {
    const lockA = await a.redlock.acquire([resource], 2 * ttl, {
      retryCount: 3,
      nodeTimeout: PATIENT_NODE_TIMEOUT,
    });
    await Promise.all(
      majority.map((i) => cluster.call(i, 1000, "ACL", "SETUSER", "default", "-subscribe")),
    );
    await b.redlock.acquire([resource], ttl, { retryCount: -1, acquireTimeout: 300 }).then(
      (lock) => lock.release(),
      () => undefined,
    );
    await Promise.all(
      majority.map((i) => cluster.call(i, 1000, "ACL", "SETUSER", "default", "+@all")),
    );
    const waiting = b.redlock.acquire([resource], ttl, { retryCount: -1, acquireTimeout: 3 * ttl });
    await delay(150);
    const releasedAt = monotonicNow();
    await lockA.release();
    let afterReleaseMs: number | undefined;
    try {
      const lockB = await waiting;
      afterReleaseMs = monotonicNow() - releasedAt;
      await lockB.release();
    } catch {
      afterReleaseMs = undefined;
    }
    return { afterReleaseMs };
  } finally {
    await Promise.all(
      majority.map((i) =>
        cluster.call(i, 1000, "ACL", "SETUSER", "default", "+@all").catch(() => undefined),
      ),
    );
    await a.close();
    await b.close();
  }
}
