import { type ChildProcess, fork } from "node:child_process";
import type { Redis } from "ioredis";
import type { ContenderId, Endpoints, LockClient } from "./contenders";
import type { ContendJob, ContendResult, Job, SoakResult, WorkerMessage } from "./protocol";
import { redisCpuSeconds } from "./redis-cpu";
import { jainIndex, quantile } from "./stats";
import { nowNs, sleep } from "./time";

export type Metrics = Record<string, number>;

export interface Measurement {
  metrics: Metrics;
  errors: string[];
}

function noteError(errors: string[], error: unknown): void {
  const text = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(
    0,
    200,
  );
  if (errors.length < 5 && !errors.includes(text)) errors.push(text);
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface UncontendedOptions {
  prefix: string;
  callers: number;
  warmupOps: number;
  /** The warm-up stops after this long even when it has not done its operations. */
  warmupMs: number;
}

/**
 * Acquire + release on a fresh key per operation by `callers` concurrent loops, measured in
 * slices that the caller interleaves with other contenders' slices: throughput, latency,
 * client CPU and Redis CPU per operation over all slices.
 */
export class UncontendedRun {
  readonly #latencies: number[] = [];
  readonly #errors: string[] = [];
  #cpuMicros = 0;
  #redisSeconds = 0;
  #seconds = 0;
  #failures = 0;
  #seq = 0;
  #warm = false;

  constructor(
    private readonly client: LockClient,
    private readonly admins: readonly Redis[],
    private readonly options: UncontendedOptions,
  ) {}

  async #one(latencies?: number[]): Promise<void> {
    const key = `${this.options.prefix}:${this.#seq++}`;
    const start = nowNs();
    try {
      await this.client.release(await this.client.acquire(key));
      latencies?.push((nowNs() - start) / 1e3);
    } catch (error) {
      this.#failures++;
      noteError(this.#errors, error);
    }
  }

  /** Runs for `durationMs` (after a warm-up on the first call). */
  async slice(durationMs: number): Promise<void> {
    const { callers } = this.options;
    if (!this.#warm) {
      this.#warm = true;
      let left = this.options.warmupOps;
      const until = nowNs() + this.options.warmupMs * 1e6;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (left-- > 0 && nowNs() < until) await this.#one();
        }),
      );
      this.#failures = 0;
      // One full collection before the first measured slice, so the run does not start with
      // another contender's garbage. Not before every slice: a forced full collection every few
      // dozen milliseconds is a condition no application runs under, and each one shrinks V8's
      // young generation, which then charges every library in proportion to what it keeps in
      // flight (the interleaved random order spreads ordinary garbage evenly instead).
      collectGarbage();
    }
    await this.client.idle();

    const redisBefore = await redisCpuSeconds(this.admins);
    const cpuBefore = process.cpuUsage();
    const started = nowNs();
    const stopAt = started + durationMs * 1e6;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (nowNs() < stopAt) await this.#one(this.#latencies);
      }),
    );
    this.#seconds += (nowNs() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    this.#cpuMicros += cpu.user + cpu.system;
    this.#redisSeconds += (await redisCpuSeconds(this.admins)) - redisBefore;
  }

  result(): Measurement {
    const ops = this.#latencies.length;
    return {
      metrics: {
        ops,
        opsPerSec: ops / this.#seconds,
        p50Us: quantile(this.#latencies, 0.5),
        p99Us: quantile(this.#latencies, 0.99),
        cpuUsPerOp: this.#cpuMicros / ops,
        redisCpuUsPerOp: (this.#redisSeconds * 1e6) / ops,
        failures: this.#failures,
      },
      errors: this.#errors,
    };
  }
}

export interface FrozenOptions {
  prefix: string;
  durationMs: number;
  stallMs: number;
}

/**
 * Serial acquire + release while some nodes are frozen. An operation still pending after
 * `stallMs` ends the run and counts as stalled; it is returned so it can be settled later.
 */
export async function measureFrozen(
  client: LockClient,
  options: FrozenOptions,
): Promise<Measurement & { stalled?: Promise<unknown> }> {
  const errors: string[] = [];
  const latencies: number[] = [];
  let failures = 0;
  let stalled: Promise<unknown> | undefined;
  const started = nowNs();
  const stopAt = started + options.durationMs * 1e6;
  for (let i = 0; nowNs() < stopAt; i++) {
    const key = `${options.prefix}:${i}`;
    const start = nowNs();
    const op = (async () => client.release(await client.acquire(key)))();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      op.then(
        () => "ok" as const,
        (error: unknown) => {
          noteError(errors, error);
          return "failed" as const;
        },
      ),
      new Promise<"stalled">((resolve) => {
        timer = setTimeout(() => resolve("stalled"), options.stallMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === "stalled") {
      stalled = op.catch(() => {});
      latencies.push(Number.POSITIVE_INFINITY);
      break;
    }
    if (outcome === "failed") failures++;
    else latencies.push((nowNs() - start) / 1e3);
  }
  const seconds = (nowNs() - started) / 1e9;
  const completed = latencies.filter(Number.isFinite).length;
  return {
    metrics: {
      ops: completed,
      opsPerSec: completed / seconds,
      p50Us: quantile(latencies, 0.5),
      p99Us: quantile(latencies, 0.99),
      stalled: stalled ? 1 : 0,
      failures,
    },
    errors,
    stalled,
  };
}

/** A forked worker process and the messages it sent. */
class Worker {
  readonly child: ChildProcess;
  #queue: WorkerMessage[] = [];
  #waiters: ((message: WorkerMessage) => void)[] = [];
  #stderr = "";
  #exit: Promise<void>;

  constructor(path: string, execArgv: string[] = []) {
    this.child = fork(path, [], {
      execArgv,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-4000);
    });
    this.child.on("message", (message: WorkerMessage) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#queue.push(message);
    });
    this.#exit = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  send(message: Job | { type: "go"; startAt: number; endAt: number }): void {
    this.child.send(message);
  }

  /** The next message, or an error when the worker exits or `timeoutMs` passes first. */
  next(timeoutMs: number): Promise<WorkerMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        const index = this.#waiters.indexOf(onMessage);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`${why}${this.#stderr ? `\n${this.#stderr}` : ""}`));
      };
      const timer = setTimeout(() => fail(`worker sent nothing for ${timeoutMs} ms`), timeoutMs);
      const onMessage = (message: WorkerMessage) => {
        clearTimeout(timer);
        this.child.off("exit", onExit);
        resolve(message);
      };
      const onExit = () => fail(`worker exited (${this.child.exitCode ?? this.child.signalCode})`);
      this.child.once("exit", onExit);
      this.#waiters.push(onMessage);
    });
  }

  async expect<T extends WorkerMessage["type"]>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<WorkerMessage, { type: T }>> {
    const message = await this.next(timeoutMs);
    if (message.type === "failed") throw new Error(message.error);
    if (message.type !== type) throw new Error(`expected ${type}, got ${message.type}`);
    return message as Extract<WorkerMessage, { type: T }>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 2000);
      this.child.kill("SIGTERM");
      await this.#exit;
      clearTimeout(timer);
    }
  }
}

export interface ContendedOptions {
  workerPath: string;
  /** One contender for every process, or one per process (a mixed deployment). */
  contender: ContenderId | readonly ContenderId[];
  endpoints: Endpoints;
  admins: readonly Redis[];
  key: string;
  procs: number;
  workers: number;
  holdMs: number;
  windowMs: number;
}

/**
 * `workers` callers split over `procs` forked processes contend for one key during `windowMs`;
 * each holds the lock `holdMs`, then releases it and asks again.
 */
export async function measureContended(options: ContendedOptions): Promise<Measurement> {
  const perProc = Math.floor(options.workers / options.procs);
  const workers = Array.from({ length: options.procs }, () => new Worker(options.workerPath));
  try {
    workers.forEach((worker, proc) => {
      const job: ContendJob = {
        type: "contend",
        contender:
          typeof options.contender === "string"
            ? options.contender
            : (options.contender[proc] as ContenderId),
        endpoints: options.endpoints,
        key: options.key,
        proc,
        workers: perProc,
        holdMs: options.holdMs,
      };
      worker.send(job);
    });
    await Promise.all(workers.map((worker) => worker.expect("ready", 30_000)));
    const redisBefore = await redisCpuSeconds(options.admins);
    const startAt = nowNs() + 30e6;
    const endAt = startAt + options.windowMs * 1e6;
    for (const worker of workers) worker.send({ type: "go", startAt, endAt });
    const results = await Promise.all(
      workers.map((worker) => worker.expect("contend-result", options.windowMs + 30_000)),
    );
    const redisCpu = (await redisCpuSeconds(options.admins)) - redisBefore;
    const analysis = analyzeContended(results, startAt, endAt, perProc);
    // Acquisitions per process within the window (`acqProc0`, `acqProc1`, …).
    const perProcess: Metrics = {};
    for (const result of results) {
      let count = 0;
      for (let i = 2; i < result.holds.length; i += 4) {
        const enter = result.holds[i]!;
        if (enter >= startAt && enter <= endAt) count++;
      }
      perProcess[`acqProc${result.proc}`] = count;
    }
    return {
      metrics: {
        ...analysis,
        ...perProcess,
        redisCpuUsPerAcq: (redisCpu * 1e6) / analysis.acquisitions!,
      },
      errors: [...new Set(results.flatMap((result) => result.errors))].slice(0, 5),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

interface Hold {
  holder: number;
  waitStart: number;
  enter: number;
  exit: number;
}

/** Hand-offs, waits, fairness, failures and overlapping holds of one contended run. */
export function analyzeContended(
  results: readonly ContendResult[],
  startAt: number,
  endAt: number,
  perProc: number,
): Metrics {
  const holds: Hold[] = [];
  const waits: number[] = [];
  let failed = 0;
  let releaseErrors = 0;
  for (const result of results) {
    const base = result.proc * perProc;
    for (let i = 0; i < result.holds.length; i += 4) {
      holds.push({
        holder: base + result.holds[i]!,
        waitStart: result.holds[i + 1]!,
        enter: result.holds[i + 2]!,
        exit: result.holds[i + 3]!,
      });
    }
    for (let i = 0; i < result.fails.length; i += 3) {
      if (result.fails[i + 2]! <= endAt) failed++;
    }
    // Callers still waiting at the end count with the time they had waited so far.
    for (let i = 0; i < result.pending.length; i += 2) {
      waits.push((endAt - result.pending[i + 1]!) / 1e6);
    }
    releaseErrors += result.releaseErrors;
  }
  holds.sort((a, b) => a.enter - b.enter);

  let violations = 0;
  let latestExit = Number.NEGATIVE_INFINITY;
  for (const hold of holds) {
    if (hold.enter < latestExit) violations++;
    latestExit = Math.max(latestExit, hold.exit);
  }

  const counts = new Array<number>(perProc * results.length).fill(0);
  let acquisitions = 0;
  let handoffs = 0;
  let previous: number | undefined;
  for (const hold of holds) {
    if (hold.enter < startAt || hold.enter > endAt) continue;
    acquisitions++;
    counts[hold.holder] = (counts[hold.holder] ?? 0) + 1;
    waits.push((hold.enter - hold.waitStart) / 1e6);
    if (previous !== undefined && previous !== hold.holder) handoffs++;
    previous = hold.holder;
  }
  const seconds = (endAt - startAt) / 1e9;
  return {
    acquisitions,
    handoffsPerSec: handoffs / seconds,
    acquisitionsPerSec: acquisitions / seconds,
    waitP50Ms: quantile(waits, 0.5),
    waitP99Ms: quantile(waits, 0.99),
    fairness: jainIndex(counts),
    failed,
    meViolations: violations,
    releaseErrors,
  };
}

export interface SoakOptions {
  workerPath: string;
  contender: ContenderId;
  endpoints: Endpoints;
  cycles: number;
  warmup: number;
  concurrency: number;
}

export interface SoakReport {
  contender: ContenderId;
  cycles: number;
  seconds: number;
  failures: number;
  heapBeforeMB: number;
  heapAfterMB: number;
  heapGrowthMB: number;
  rssGrowthMB: number;
  timersBefore: number;
  timersAfter: number;
  resourcesAfter: Record<string, number>;
  errors: string[];
}

/** Acquire/release cycles in a fresh process started with --expose-gc. */
export async function measureSoak(options: SoakOptions): Promise<SoakReport> {
  const worker = new Worker(options.workerPath, ["--expose-gc"]);
  try {
    worker.send({
      type: "soak",
      contender: options.contender,
      endpoints: options.endpoints,
      cycles: options.cycles,
      warmup: options.warmup,
      concurrency: options.concurrency,
    });
    const result: SoakResult = await worker.expect("soak-result", 30 * 60_000);
    const mb = (bytes: number) => bytes / 2 ** 20;
    return {
      contender: options.contender,
      cycles: result.cycles,
      seconds: result.seconds,
      failures: result.failures,
      heapBeforeMB: mb(result.heapBefore),
      heapAfterMB: mb(result.heapAfter),
      heapGrowthMB: mb(result.heapAfter - result.heapBefore),
      rssGrowthMB: mb(result.rssAfter - result.rssBefore),
      timersBefore: result.resourcesBefore.Timeout ?? 0,
      timersAfter: result.resourcesAfter.Timeout ?? 0,
      resourcesAfter: result.resourcesAfter,
      errors: result.errors,
    };
  } finally {
    await worker.stop();
  }
}

/** Waits for `promises` to settle, for at most `ms`. */
export async function settleWithin(promises: readonly Promise<unknown>[], ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
  await sleep(0);
}
