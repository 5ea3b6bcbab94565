/**
 * A lock worker, forked by `WorkerPool` (so that the parent can SIGSTOP it). It waits for a
 * `start` message with its `WorkerConfig`, then loops until `stop`: acquire, enter, read the
 * oracle counter, work, write the counter plus one, exit, report the section, release.
 *
 * Semaphore workers take permits instead and touch no counter (their holders run side by side);
 * read-write lock workers take a write hold for the sections that read and write the counter,
 * and a read hold for those that only read it.
 */
import { type AcquireSettings, type Lock, Redlock } from "@redlock/core";
import { Redis } from "ioredis";
import { delay, monotonicNow } from "./clock";
import { connectRunners, lockNodes } from "./drivers";
import { counterKey, FENCED_READ, FENCED_WRITE, seenKey } from "./oracle";
import { Rng } from "./prng";
import type { Access, ParentMessage, SectionRecord, WorkerConfig, WorkerMessage } from "./types";

const stopController = new AbortController();
let started = false;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.name : "unknown";
}

/** What one section holds besides its resource: semaphore permits, or a read or write hold. */
interface SectionPlan {
  readonly permits?: number;
  readonly hold?: "read" | "write";
}

/** Draw a section's permits or hold (nothing is drawn for lock workers, so their seeds replay). */
function planSection(config: WorkerConfig, rng: Rng): SectionPlan {
  const primitive = config.primitive;
  if (primitive?.kind === "semaphore") return { permits: rng.pick(primitive.permits) };
  if (primitive?.kind === "rwlock") {
    return { hold: rng.chance(primitive.writeShare) ? "write" : "read" };
  }
  return {};
}

/**
 * Acquire what the section needs: the lock, the permits, or the read or write hold (a read hold
 * for a writing section in the planted `writeUnderRead` mode).
 */
function acquireFor(
  redlock: Redlock,
  config: WorkerConfig,
  resource: string,
  plan: SectionPlan,
  settings: Omit<AcquireSettings, "fencing">,
): Promise<Lock> {
  const primitive = config.primitive;
  if (primitive?.kind === "semaphore") {
    return redlock
      .semaphore(resource, { limit: primitive.limit })
      .acquire(config.ttl, { ...settings, permits: plan.permits ?? 1 });
  }
  if (primitive?.kind === "rwlock") {
    const rw = redlock.readWriteLock(resource);
    return plan.hold === "write" && !primitive.writeUnderRead
      ? rw.write(config.ttl, settings)
      : rw.read(config.ttl, settings);
  }
  return redlock.acquire([resource], config.ttl, { ...settings, fencing: config.fencing });
}

async function run(config: WorkerConfig): Promise<void> {
  if (config.primitive && config.fencing) {
    throw new Error("fencing tokens are for locks; semaphore and read-write workers run without");
  }
  const rng = new Rng(config.seed);
  const acquireFailures: Record<string, number> = {};
  const nodeErrors: Record<string, number> = {};
  const releaseOutcomes: Record<string, number> = {};
  const nodes = await connectRunners(config.driver, lockNodes(config), config.nodeTimeout);
  const oracle = new Redis(config.oracleUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  oracle.on("error", () => {});
  await oracle.connect();
  const redlock = new Redlock(nodes.runners, {
    nodeTimeout: config.nodeTimeout,
    retryCount: -1,
    retryDelay: config.retryDelay,
    retryJitter: config.retryJitter,
    ...(config.restartGuard ? { restartGuard: config.restartGuard } : {}),
  });
  redlock.on("error", (error) => bump(nodeErrors, codeOf(error)));
  await send({ type: "ready" });

  const signal = stopController.signal;
  for (let seq = 0; !signal.aborted; ) {
    const resource = rng.pick(config.resources);
    const plan = planSection(config, rng);
    const acquireStart = monotonicNow();
    let lock: Lock;
    try {
      lock = await acquireFor(redlock, config, resource, plan, {
        signal,
        acquireTimeout: rng.int(config.acquireTimeout[0], config.acquireTimeout[1]),
      });
    } catch (error) {
      if (signal.aborted) break;
      bump(acquireFailures, codeOf(error));
      await delay(rng.int(0, config.retryDelay));
      continue;
    }
    const acquireEnd = monotonicNow();
    const enter = monotonicNow();
    const deadline = enter + lock.remainingTime();
    const workMs = rng.int(config.work[0], config.work[1]);
    void send({ type: "enter", resource, enter, workMs, deadline });

    const token = lock.fencingToken;
    const keys = [counterKey(resource), seenKey(resource)];
    // Semaphore holders run side by side: no counter. Readers only read it.
    const readsCounter = plan.permits === undefined;
    const writesCounter = readsCounter && plan.hold !== "read";
    let access: Access = "ok";
    let read = 0;
    if (readsCounter && config.fencing) {
      const [ok, value] = (await oracle.eval(FENCED_READ, 2, ...keys, token ?? 0)) as [
        number,
        number,
      ];
      if (ok === 1) read = value;
      else access = "rejected-read";
    } else if (readsCounter) {
      read = Number((await oracle.get(keys[0]!)) ?? 0);
    }
    await delay(workMs);
    if (access === "ok" && writesCounter) {
      if (config.fencing) {
        const ok = await oracle.eval(FENCED_WRITE, 2, ...keys, token ?? 0, read + 1);
        if (ok !== 1) access = "rejected-write";
      } else {
        await oracle.set(keys[0]!, String(read + 1));
      }
    }
    const exit = monotonicNow();
    const record: SectionRecord = {
      worker: config.id,
      resource,
      seq: seq++,
      acquireStart,
      acquireEnd,
      enter,
      exit,
      deadline,
      overran: exit > deadline,
      remainingAtExit: lock.remainingTime(),
      expirationPassedAtExit: Date.now() > lock.expiration,
      ...(token === undefined ? {} : { token }),
      access,
      read,
      attempts: lock.attempts.length,
      workMs,
      ...plan,
    };
    void send({ type: "section", record });
    try {
      bump(releaseOutcomes, (await lock.release()).outcome);
    } catch (error) {
      bump(releaseOutcomes, `error:${codeOf(error)}`);
    }
    if (!signal.aborted) await delay(rng.int(config.idle[0], config.idle[1]));
  }

  // Releases are decided at quorum: let the rest reach their nodes before the connections close.
  await redlock.idle();
  await send({
    type: "done",
    stats: { worker: config.id, acquireFailures, nodeErrors, releaseOutcomes },
  });
  await nodes.close();
  oracle.disconnect();
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "stop") {
    stopController.abort();
    return;
  }
  if (message.type === "start" && !started) {
    started = true;
    run(message.config).then(
      () => process.exit(0),
      async (error: unknown) => {
        await send({
          type: "fatal",
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        process.exit(1);
      },
    );
  }
});
process.on("disconnect", () => process.exit(0));
