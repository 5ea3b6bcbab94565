/**
 * A lock worker, forked by `WorkerPool` (so that the parent can SIGSTOP it). It waits for a
 * `start` message with its `WorkerConfig`, then loops until `stop`: acquire, enter, read the
 * oracle counter, work, write the counter plus one, exit, report the section, release.
 */
import { type Lock, Redlock } from "@redlock/core";
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

async function run(config: WorkerConfig): Promise<void> {
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
    const acquireStart = monotonicNow();
    let lock: Lock;
    try {
      lock = await redlock.acquire([resource], config.ttl, {
        fencing: config.fencing,
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
    let access: Access = "ok";
    let read = 0;
    if (config.fencing) {
      const [ok, value] = (await oracle.eval(FENCED_READ, 2, ...keys, token ?? 0)) as [
        number,
        number,
      ];
      if (ok === 1) read = value;
      else access = "rejected-read";
    } else {
      read = Number((await oracle.get(keys[0]!)) ?? 0);
    }
    await delay(workMs);
    if (access === "ok") {
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
    };
    void send({ type: "section", record });
    try {
      bump(releaseOutcomes, (await lock.release()).outcome);
    } catch (error) {
      bump(releaseOutcomes, `error:${codeOf(error)}`);
    }
    if (!signal.aborted) await delay(rng.int(config.idle[0], config.idle[1]));
  }

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
