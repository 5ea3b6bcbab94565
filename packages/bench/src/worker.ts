import { contender, type LockClient } from "./contenders";
import type { ContendJob, Go, Job, SoakJob, WorkerMessage } from "./protocol";
import { nowNs, sleep, sleepUntil } from "./time";

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, undefined, undefined, (error) => (error ? reject(error) : resolve())),
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function noteError(errors: string[], error: unknown): void {
  const text = messageOf(error).slice(0, 200);
  if (errors.length < 5 && !errors.includes(text)) errors.push(text);
}

const yieldToTimers = () => new Promise<void>((resolve) => setImmediate(resolve));

function nextGo(): Promise<Go> {
  return new Promise((resolve) => {
    const onMessage = (message: Go) => {
      if (message?.type !== "go") return;
      process.off("message", onMessage);
      resolve(message);
    };
    process.on("message", onMessage);
  });
}

async function contend(job: ContendJob): Promise<void> {
  const client = await contender(job.contender).connect(job.endpoints);
  for (let i = 0; i < 10; i++) {
    await client.release(await client.acquire(`${job.key}:warm:${job.proc}:${i}`));
  }
  const go = nextGo();
  await send({ type: "ready" });
  const { startAt, endAt } = await go;

  const holds: number[] = [];
  const fails: number[] = [];
  const errors: string[] = [];
  const waitingSince = new Map<number, number>();
  const holding = new Map<number, [waitStart: number, enter: number]>();
  let releaseErrors = 0;

  const worker = async (w: number) => {
    await sleepUntil(startAt);
    for (;;) {
      const waitStart = nowNs();
      waitingSince.set(w, waitStart);
      let handle: unknown;
      try {
        handle = await client.acquireWaiting(job.key);
      } catch (error) {
        waitingSince.delete(w);
        fails.push(w, waitStart, nowNs());
        noteError(errors, error);
        await yieldToTimers();
        continue;
      }
      waitingSince.delete(w);
      const enter = nowNs();
      holding.set(w, [waitStart, enter]);
      await sleep(job.holdMs);
      holding.delete(w);
      holds.push(w, waitStart, enter, nowNs());
      try {
        await client.release(handle);
      } catch (error) {
        releaseErrors++;
        noteError(errors, error);
      }
    }
  };
  for (let w = 0; w < job.workers; w++) void worker(w);

  await sleepUntil(endAt);
  const at = nowNs();
  // A hold still in progress counts as lasting until now: it must not overlap anything either.
  for (const [w, [waitStart, enter]] of holding) holds.push(w, waitStart, enter, at);
  const pending: number[] = [];
  for (const [w, waitStart] of waitingSince) pending.push(w, waitStart);
  await send({
    type: "contend-result",
    proc: job.proc,
    holds,
    fails,
    pending,
    releaseErrors,
    errors,
  });
}

function countByType(resources: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of resources) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  for (let i = 0; i < 4; i++) {
    await yieldToTimers();
    gc();
  }
}

async function cycles(
  client: LockClient,
  prefix: string,
  count: number,
  concurrency: number,
  errors: string[],
): Promise<number> {
  let next = 0;
  let failures = 0;
  const loop = async () => {
    while (next < count) {
      const key = `${prefix}:${next++}`;
      try {
        await client.release(await client.acquire(key));
      } catch (error) {
        failures++;
        noteError(errors, error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await client.idle();
  return failures;
}

async function soak(job: SoakJob): Promise<void> {
  const client = await contender(job.contender).connect(job.endpoints);
  const errors: string[] = [];
  const prefix = `bench:soak:${process.pid}`;
  await cycles(client, `${prefix}:warm`, job.warmup, job.concurrency, errors);
  await collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const resourcesBefore = countByType(process.getActiveResourcesInfo());
  const started = nowNs();
  const failures = await cycles(client, prefix, job.cycles, job.concurrency, errors);
  const seconds = (nowNs() - started) / 1e9;
  await collect();
  const heapAfter = process.memoryUsage().heapUsed;
  const rssAfter = process.memoryUsage().rss;
  const resourcesAfter = countByType(process.getActiveResourcesInfo());
  await send({
    type: "soak-result",
    cycles: job.cycles,
    seconds,
    failures,
    heapBefore,
    heapAfter,
    rssBefore,
    rssAfter,
    resourcesBefore,
    resourcesAfter,
    errors,
  });
  await client.close();
}

process.once("message", (job: Job) => {
  const run = job.type === "contend" ? contend(job) : soak(job);
  run.then(
    () => process.exit(0),
    async (error: unknown) => {
      await send({ type: "failed", error: messageOf(error) }).catch(() => {});
      process.exit(1);
    },
  );
});
process.on("disconnect", () => process.exit(0));
