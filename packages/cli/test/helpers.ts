import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import {
  getFreePort,
  type RedisNode,
  respCall,
  startRedisNodes,
  teardownAll,
} from "@redlock/testbed";

/** The built binary. */
export const CLI = join(__dirname, "..", "dist", "cli.js");

/** The command the tests run under the lock (see fixtures/child.mjs for its modes). */
export function child(...args: string[]): string[] {
  return [process.execPath, join(__dirname, "fixtures", "child.mjs"), ...args];
}

/** Pause between two looks at Redis while waiting for a state (never a wait for time itself). */
const POLL_MS = 20;

/** The lines of a stream as they arrive, with a way to wait for one. */
export class Lines {
  readonly lines: string[] = [];
  #closed = false;
  readonly #checks = new Set<() => void>();

  constructor(stream: Readable) {
    const reader = createInterface({ input: stream });
    reader.on("line", (line) => {
      this.lines.push(line);
      this.#notify();
    });
    reader.on("close", () => {
      this.#closed = true;
      this.#notify();
    });
  }

  /** The lines parsed as JSON (lines that are not JSON are left out). */
  get json(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** All the text so far. */
  get text(): string {
    return this.lines.join("\n");
  }

  /** Resolves with the first JSON line that matches `predicate`; rejects if the stream ends first. */
  waitForJson(
    predicate: (message: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.json.find(predicate);
        if (found || this.#closed) this.#checks.delete(check);
        if (found) resolve(found);
        else if (this.#closed) reject(new Error(`the stream ended before ${what}:\n${this.text}`));
      };
      this.#checks.add(check);
      check();
    });
  }

  #notify(): void {
    for (const check of [...this.#checks]) check();
  }
}

/** How a process ended. */
export interface Exit {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `redlock` process. */
export interface Cli {
  readonly process: ChildProcess;
  readonly pid: number;
  /** What the command printed (it inherits redlock's stdout). */
  readonly stdout: Lines;
  /** redlock's progress and errors. */
  readonly stderr: Lines;
  /** Settles once the process exited and its output is all read. */
  readonly exited: Promise<Exit>;
  /** End stdin: a `hold` command then exits 0. */
  endInput(): void;
}

const running = new Set<Cli>();

/** The environment of a `redlock` process: the test's, without REDLOCK_ variables, plus `extra`. */
function cliEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("REDLOCK_")),
  );
  return { ...env, ...extra };
}

/** Start `node dist/cli.js …args` with stdin, stdout and stderr as pipes. */
export function startCli(args: readonly string[], env?: Record<string, string>): Cli {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: cliEnv(env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<Exit>((resolve) => {
    proc.once("close", (status, signal) => resolve({ status, signal }));
  });
  const cli: Cli = {
    process: proc,
    pid: proc.pid as number,
    stdout: new Lines(proc.stdout!),
    stderr: new Lines(proc.stderr!),
    exited,
    endInput: () => proc.stdin!.end(),
  };
  running.add(cli);
  void exited.then(() => running.delete(cli));
  return cli;
}

/** What a finished `redlock` process did. */
export interface Finished extends Exit {
  readonly stdout: Lines;
  readonly stderr: Lines;
}

/** Run `redlock …args` with stdin closed and wait for it to finish. */
export async function runCli(
  args: readonly string[],
  env?: Record<string, string>,
): Promise<Finished> {
  const cli = startCli(args, env);
  cli.endInput();
  const exit = await cli.exited;
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}

/** Stop every `redlock` process still running (after a failed test): resume, end input, kill. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const cli of left) {
    cli.endInput();
    try {
      cli.process.kill("SIGCONT");
      cli.process.kill("SIGKILL");
    } catch {
      // exited in between
    }
  }
  await Promise.all(left.map((cli) => cli.exited));
}

/** The events `redlock --json` wrote to stderr, by name. */
export function events(cli: { stderr: Lines }): string[] {
  return cli.stderr.json.map((message) => message.event as string);
}

/** `--nodes` for `nodes`. */
export function nodeList(nodes: readonly { url: string }[]): string {
  return nodes.map((node) => node.url).join(",");
}

/** `n` URLs of free loopback ports: nodes that refuse connections. */
export async function deadUrls(n: number): Promise<string[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await getFreePort());
  return [...ports].map((port) => `redis://127.0.0.1:${port}`);
}

/** On how many of `nodes` the key exists. */
export async function keyCount(nodes: readonly RedisNode[], key: string): Promise<number> {
  const replies = await Promise.all(nodes.map((node) => respCall(node, "EXISTS", key)));
  return replies.filter((reply) => reply === 1).length;
}

/** Resolves once the key is gone from every node (it expired or was deleted). */
export async function untilKeyGone(nodes: readonly RedisNode[], key: string): Promise<void> {
  while ((await keyCount(nodes, key)) > 0) await delay(POLL_MS);
}

/** Resolves once some process waits for the key's release announcement on `node`. */
export async function untilSomeoneWaits(node: RedisNode, key: string): Promise<void> {
  for (;;) {
    const [, count] = (await respCall(node, "PUBSUB", "NUMSUB", `redlock:released:${key}`)) as [
      string,
      number,
    ];
    if (count > 0) return;
    await delay(POLL_MS);
  }
}

/** The value stored under `key` on `node` (a lock's secret value, to check it never leaks). */
export async function storedValue(node: RedisNode, key: string): Promise<string> {
  const value = await respCall(node, "GET", key);
  if (typeof value !== "string") throw new Error(`no value under ${key}`);
  return value;
}

/** The redis-server nodes of a test file, and their URLs as `--nodes` takes them. */
export interface Testbed {
  nodes: RedisNode[];
  urls: string;
}

/** Start `count` redis-server nodes before the file's tests (read them inside tests and hooks). */
export function useRedisNodes(count = 3): Testbed {
  const bed: Testbed = { nodes: [], urls: "" };
  beforeAll(async () => {
    bed.nodes = await startRedisNodes(count);
    bed.urls = nodeList(bed.nodes);
  });
  return bed;
}

/**
 * `useRedisNodes`, plus the usual clean-up: every `redlock` process left by a test is stopped
 * after it, and the nodes after the file.
 */
export function useTestbed(count = 3): Testbed {
  const bed = useRedisNodes(count);
  afterEach(() => killAll());
  afterAll(() => teardownAll());
  return bed;
}

/** `redlock run` or `redlock semaphore run`. */
export type Kind = "run" | "semaphore";

const SUBCOMMAND: Record<Kind, readonly string[]> = {
  run: ["run"],
  semaphore: ["semaphore", "run"],
};

/** The command line `redlock <kind> --nodes <nodes> …flags -- …command`. */
export function commandLine(
  kind: Kind,
  nodes: string,
  flags: readonly string[],
  command: readonly string[],
): string[] {
  return [...SUBCOMMAND[kind], "--nodes", nodes, ...flags, "--", ...command];
}

/**
 * Start `redlock <kind> --json` on `nodes` for `resource` with `flags`, running the fixture in
 * `mode`: by default it holds until its input ends.
 */
export function startHolder(
  kind: Kind,
  nodes: string,
  resource: string,
  flags: readonly string[],
  mode = "hold",
): Cli {
  return startCli(
    commandLine(kind, nodes, ["--resource", resource, "--json", ...flags], child(mode)),
  );
}

/** Resolves with the command's first line once the command of `cli` runs. */
export function started(cli: { stdout: Lines }, what = "start"): Promise<Record<string, unknown>> {
  return cli.stdout.waitForJson((line) => line.started === true, what);
}

/** End the command of each of `clis` and expect each `redlock` to exit 0. */
export async function finish(...clis: Cli[]): Promise<void> {
  for (const cli of clis) cli.endInput();
  for (const cli of clis) expect((await cli.exited).status).toBe(0);
}

/** Expect `cli` to exit 75 without running its command. */
export async function expectBusy(cli: Cli): Promise<void> {
  expect((await cli.exited).status).toBe(75);
  expect(cli.stdout.lines).toEqual([]);
  expect(events(cli)).toEqual(["busy"]);
}

/** Expect a `--json` run to have found too few nodes (69), without running its command. */
export function expectUnreachable(result: Finished): void {
  expect(result.status).toBe(69);
  expect(result.stdout.lines).toEqual([]);
  expect(result.stderr.json).toEqual([
    expect.objectContaining({ event: "unreachable", code: "QUORUM_UNREACHABLE" }),
  ]);
}
