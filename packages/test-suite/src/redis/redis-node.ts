import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { requireRedisServer } from "./binary";
import { getFreePort, LOOPBACK } from "./ports";
import {
  type Closeable,
  trackDir,
  trackPid,
  trackResource,
  untrackDir,
  untrackPid,
  untrackResource,
} from "./registry";
import { ping } from "./resp";

/** Redis' `appendfsync` policy. */
export type AppendFsync = "always" | "everysec" | "no";

/** How {@link startRedis} starts a node. */
export interface StartRedisOptions {
  /** Enable AOF persistence. Default false (`--appendonly no`). */
  appendonly?: boolean;
  /** AOF fsync policy; only meaningful with `appendonly`. Redis' default is `everysec`. */
  appendfsync?: AppendFsync;
  /** Start with `--enable-debug-command local` so `DEBUG SLEEP` works. Immutable at runtime. */
  enableDebug?: boolean;
  /** Extra command-line arguments appended verbatim, e.g. `["--maxmemory", "10mb"]`. */
  args?: string[];
  /** Time allowed for the server to answer PING after spawning. Default 10000 ms. */
  startTimeoutMs?: number;
  /** Use this port instead of a free one chosen by the OS. */
  port?: number;
}

/** How {@link RedisNode.restart} starts the node again. */
export interface RestartOptions {
  /** Time to stay down between the kill and the new start. Default 0. */
  delayMs?: number;
  appendonly?: boolean;
  appendfsync?: AppendFsync;
}

const LOG_LIMIT = 64 * 1024;
const ADDRESS_IN_USE = /Address already in use/i;

type SpawnResult = { ok: true } | { ok: false; addressInUse: boolean; reason: string };

/**
 * One `redis-server` process on a loopback port with its own temporary directory. The process is
 * a child of the current process and is killed by `teardownAll()` or, at the latest, when the
 * current process exits.
 */
export class RedisNode implements Closeable {
  readonly host = LOOPBACK;
  /** Spawned nodes can be paused, killed and restarted. */
  readonly controllable = true as const;
  readonly dir: string;
  readonly binary: string;
  private options: StartRedisOptions;
  private _port: number;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = "";
  private _paused = false;
  private closed = false;

  private constructor(binary: string, dir: string, port: number, options: StartRedisOptions) {
    this.binary = binary;
    this.dir = dir;
    this._port = port;
    this.options = { ...options };
  }

  /** Spawns a node on a free loopback port and waits until it answers PING. */
  static async start(options: StartRedisOptions = {}): Promise<RedisNode> {
    const binary = requireRedisServer();
    const dir = mkdtempSync(join(tmpdir(), "redlock-redis-"));
    trackDir(dir);
    const node = new RedisNode(binary.path, dir, options.port ?? 0, options);
    trackResource(node);
    try {
      let last: SpawnResult | undefined;
      for (let attempt = 0; attempt < 8; attempt++) {
        node._port = options.port ?? (await getFreePort());
        last = await node.spawnOnce();
        if (last.ok) return node;
        if (!last.addressInUse || options.port !== undefined) break;
      }
      throw new Error(
        `redis-server did not start: ${last && !last.ok ? last.reason : "unknown"}\n${node.output}`,
      );
    } catch (err) {
      await node.stop();
      throw err;
    }
  }

  /** The loopback port the node listens on. */
  get port(): number {
    return this._port;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this._port}`;
  }

  /** PID of the current process, or undefined while the node is down. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Is the process alive (possibly paused)? */
  get running(): boolean {
    const child = this.child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /** Is the process stopped by `pause()`? */
  get paused(): boolean {
    return this._paused && this.running;
  }

  /** The last 64 KiB of the server's stdout/stderr (log level `warning`). */
  get logs(): string {
    return this.output;
  }

  /** SIGSTOP: the process stops answering but keeps its sockets open (a GC or VM pause). */
  pause(): void {
    this.signal("SIGSTOP");
    this._paused = true;
  }

  /** SIGCONT: commands queued during the pause are processed now. */
  resume(): void {
    this.signal("SIGCONT");
    this._paused = false;
  }

  /** Crash: SIGCONT then SIGKILL, and wait for the process to exit. Data not on disk is lost. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    try {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    } catch {
      // exited in between
    }
    this._paused = false;
    await this.exited;
  }

  /**
   * Kills the node if it is running, stays down `delayMs`, then starts it again on the same port
   * and directory (an AOF written there is loaded). `appendonly`/`appendfsync` override the
   * settings for this and later starts.
   */
  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.closed) throw new Error("RedisNode.restart() after stop()");
    await this.kill();
    if (options.delayMs && options.delayMs > 0) await sleep(options.delayMs);
    if (options.appendonly !== undefined) this.options.appendonly = options.appendonly;
    if (options.appendfsync !== undefined) this.options.appendfsync = options.appendfsync;
    const deadline = Date.now() + 5000;
    for (;;) {
      const result = await this.spawnOnce();
      if (result.ok) return;
      if (!result.addressInUse || Date.now() > deadline) {
        throw new Error(
          `redis-server did not restart on port ${this._port}: ${result.reason}\n${this.output}`,
        );
      }
      await sleep(100);
    }
  }

  /** Graceful shutdown (SIGTERM, SIGKILL after 3 s) and removal of the data directory. */
  async stop(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (child && this.running) {
      try {
        child.kill("SIGCONT");
        child.kill("SIGTERM");
      } catch {
        // exited in between
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited in between
        }
      }, 3000);
      await this.exited;
      clearTimeout(timer);
    }
    this._paused = false;
    rmSync(this.dir, { recursive: true, force: true });
    untrackDir(this.dir);
    untrackResource(this);
  }

  /** Same as `stop()`, for `teardownAll()`. */
  close(): Promise<void> {
    return this.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private signal(signal: NodeJS.Signals): void {
    const child = this.child;
    if (!child || !this.running)
      throw new Error(`redis-server on port ${this._port} is not running`);
    child.kill(signal);
  }

  private buildArgs(): string[] {
    const o = this.options;
    const args = [
      "--port",
      String(this._port),
      "--bind",
      this.host,
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      o.appendonly ? "yes" : "no",
      "--daemonize",
      "no",
      "--logfile",
      "",
      "--loglevel",
      "warning",
    ];
    if (o.appendfsync) args.push("--appendfsync", o.appendfsync);
    if (o.enableDebug) args.push("--enable-debug-command", "local");
    if (o.args) args.push(...o.args);
    return args;
  }

  private append(chunk: Buffer): void {
    this.output += chunk.toString("utf8");
    if (this.output.length > LOG_LIMIT) this.output = this.output.slice(-LOG_LIMIT);
  }

  private async spawnOnce(): Promise<SpawnResult> {
    this.output = "";
    const child = spawn(this.binary, this.buildArgs(), {
      cwd: this.dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this._paused = false;
    child.stdout?.on("data", (chunk: Buffer) => this.append(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.append(chunk));
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once("error", (err) => {
        spawnError = err;
        resolve();
      });
      child.once("exit", () => resolve());
    });
    const pid = child.pid;
    if (pid !== undefined) {
      trackPid(pid);
      void this.exited.then(() => untrackPid(pid));
    }
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10000);
    while (Date.now() < deadline) {
      if (spawnError) return { ok: false, addressInUse: false, reason: spawnError.message };
      if (!this.running) {
        return {
          ok: false,
          addressInUse: ADDRESS_IN_USE.test(this.output),
          reason: `exited with ${child.exitCode ?? child.signalCode}`,
        };
      }
      if (await ping(this.host, this._port, 500)) return { ok: true };
      await sleep(15);
    }
    child.kill("SIGKILL");
    await this.exited;
    return { ok: false, addressInUse: false, reason: "timed out waiting for PING" };
  }
}

/** Spawns one `redis-server` on a free loopback port; see `RedisNode`. */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisNode> {
  return RedisNode.start(options);
}

/** Spawns `n` nodes in parallel with the same options. On any failure, the others are stopped. */
export async function startRedisNodes(
  n: number,
  options: StartRedisOptions = {},
): Promise<RedisNode[]> {
  const results = await Promise.allSettled(
    Array.from({ length: n }, () => RedisNode.start(options)),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    await Promise.all(
      results.map((r) => (r.status === "fulfilled" ? r.value.stop() : Promise.resolve())),
    );
    throw failure.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<RedisNode>).value);
}
