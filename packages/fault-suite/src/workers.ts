import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type {
  ParentMessage,
  SectionRecord,
  WorkerConfig,
  WorkerMessage,
  WorkerStats,
} from "./types";

/** The compiled worker program (`pnpm build` in this package writes it). */
export const WORKER_PATH = join(__dirname, "..", "dist", "worker.js");

/** A worker that announced it entered a critical section. */
export interface EnterEvent {
  readonly worker: number;
  readonly resource: string;
  readonly enter: number;
  readonly workMs: number;
  readonly deadline: number;
}

const live = new Set<ChildProcess>();
let exitHook = false;

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  } catch {
    // exited in between
  }
}

/** SIGCONT and SIGKILL every worker still running in this process. */
export function killAllWorkers(): void {
  for (const child of live) {
    signal(child, "SIGCONT");
    signal(child, "SIGKILL");
  }
  live.clear();
}

class Worker {
  readonly records: SectionRecord[] = [];
  stats: WorkerStats | undefined;
  fatal: string | undefined;
  inSection = false;
  frozen = false;
  readonly exited: Promise<void>;
  private readyResolve: (() => void) | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly config: WorkerConfig,
    readonly child: ChildProcess,
    onEnter: (event: EnterEvent) => void,
  ) {
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (message: WorkerMessage) => {
      switch (message.type) {
        case "ready":
          this.readyResolve?.();
          break;
        case "enter":
          this.inSection = true;
          onEnter({ worker: config.id, ...message });
          break;
        case "section":
          this.inSection = false;
          this.records.push(message.record);
          break;
        case "done":
          this.stats = message.stats;
          break;
        case "fatal":
          this.fatal = message.error;
          break;
      }
    });
  }

  send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }
}

/** Forked lock workers, their records, and control over their processes. */
export class WorkerPool {
  private constructor(
    readonly workers: Worker[],
    private readonly enterListeners: Set<(event: EnterEvent) => void>,
  ) {}

  /** Fork one worker per config and wait until each has connected to its nodes. */
  static async start(
    configs: readonly WorkerConfig[],
    // Forking and connecting is not what the suite measures: generous on a loaded machine.
    readyTimeoutMs = 60000,
  ): Promise<WorkerPool> {
    if (!existsSync(WORKER_PATH)) {
      throw new Error(
        `${WORKER_PATH} is missing: run \`pnpm --filter @redlock/fault-suite build\``,
      );
    }
    if (!exitHook) {
      exitHook = true;
      process.once("exit", killAllWorkers);
    }
    const listeners = new Set<(event: EnterEvent) => void>();
    const workers = configs.map((config) => {
      const child = fork(WORKER_PATH, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      live.add(child);
      child.once("exit", () => live.delete(child));
      return new Worker(config, child, (event) => {
        for (const listener of listeners) listener(event);
      });
    });
    const pool = new WorkerPool(workers, listeners);
    for (const worker of workers) worker.send({ type: "start", config: worker.config });
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`workers not ready after ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([
        Promise.all(
          workers.map((worker) =>
            Promise.race([
              worker.ready,
              worker.exited.then(() => {
                throw new Error(`worker ${worker.config.id} exited early: ${worker.fatal ?? "?"}`);
              }),
            ]),
          ),
        ),
        timeout,
      ]);
    } catch (error) {
      pool.kill();
      throw error;
    }
    return pool;
  }

  /** Call `listener` whenever a worker enters a section; returns an unsubscribe function. */
  onEnter(listener: (event: EnterEvent) => void): () => void {
    this.enterListeners.add(listener);
    return () => this.enterListeners.delete(listener);
  }

  /** The next entry into a section that satisfies `filter`, or undefined after `timeoutMs`. */
  nextEnter(timeoutMs: number, filter: (event: EnterEvent) => boolean = () => true) {
    return new Promise<EnterEvent | undefined>((resolve) => {
      const stop = this.onEnter((event) => {
        if (!filter(event)) return;
        clearTimeout(timer);
        stop();
        resolve(event);
      });
      const timer = setTimeout(() => {
        stop();
        resolve(undefined);
      }, timeoutMs);
    });
  }

  get records(): SectionRecord[] {
    return this.workers.flatMap((worker) => worker.records);
  }

  get stats(): WorkerStats[] {
    return this.workers.flatMap((worker) => (worker.stats ? [worker.stats] : []));
  }

  get fatalErrors(): string[] {
    return this.workers.flatMap((worker) =>
      worker.fatal ? [`worker ${worker.config.id}: ${worker.fatal}`] : [],
    );
  }

  /** SIGSTOP worker `id` (a GC pause or a VM freeze of the lock holder). */
  freeze(id: number): void {
    const worker = this.workers[id]!;
    signal(worker.child, "SIGSTOP");
    worker.frozen = true;
  }

  thaw(id: number): void {
    const worker = this.workers[id]!;
    signal(worker.child, "SIGCONT");
    worker.frozen = false;
  }

  /**
   * Let every worker finish its current section and release, then exit. Workers that do not
   * exit within `timeoutMs` are killed (their last section may then be missing).
   */
  async stop(timeoutMs = 10000): Promise<void> {
    for (const worker of this.workers) {
      if (worker.frozen) this.thaw(worker.config.id);
      worker.send({ type: "stop" });
    }
    const all = Promise.all(this.workers.map((worker) => worker.exited));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.kill();
      await all;
    }
  }

  /** SIGCONT and SIGKILL every worker of this pool. */
  kill(): void {
    for (const worker of this.workers) {
      signal(worker.child, "SIGCONT");
      signal(worker.child, "SIGKILL");
    }
  }
}
