import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EXIT_CODES } from "@redlock/cli";
import { resolveRedis } from "@redlock/testbed";

// Two hosts with the same crontab line fire at the same minute:
//
//   0 2 * * * redlock run --resource job:nightly-report --ttl 1m --no-wait -- nightly-report
//
// Exactly one runs the report; the other finds the lock taken and exits 75 (busy).

/** The `redlock` binary of @redlock/cli (what `npm install --global @redlock/cli` puts on PATH). */
function redlockBinary(): string {
  const manifest = createRequire(import.meta.url).resolve("@redlock/cli/package.json");
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin: { redlock: string } };
  return join(dirname(manifest), bin.redlock);
}

/** One host's cron firing: `redlock run … -- node nightly-report.mjs`, its stdout collected. */
function cronFires(host: string, nodes: string, resource: string): ChildProcess {
  const report = fileURLToPath(new URL("./nightly-report.mjs", import.meta.url));
  const args = ["run", "--resource", resource, "--ttl", "1m", "--no-wait", "--quiet"];
  return spawn(process.execPath, [redlockBinary(), ...args, "--", process.execPath, report], {
    env: { ...process.env, REDLOCK_NODES: nodes, HOST_NAME: host },
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** What one host's `redlock run` printed, line by line, and how it ended. */
interface Firing {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  /** The first line printed, or `undefined` if none came before stdout closed. */
  readonly firstLine: Promise<string | undefined>;
  readonly exited: Promise<number | null>;
}

/** Watch one host's firing. */
function watch(name: string, child: ChildProcess): Firing {
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout! });
  const firstLine = new Promise<string | undefined>((resolve) => {
    reader.on("line", (line) => {
      lines.push(line);
      resolve(line);
    });
    reader.on("close", () => resolve(undefined));
  });
  const exited = once(child, "close").then(([code]) => code as number | null);
  return { name, child, lines, firstLine, exited };
}

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const nodes = redis.urls.join(",");
// One tick of the schedule; a fresh name per run, in case REDIS_URLS points at lasting servers.
const resource = `job:nightly-report:${Date.now().toString(36)}`;
console.log(`2 hosts, ${redis.urls.length} Redis nodes, cron fires for ${resource}`);

const hosts = ["host-a", "host-b"].map((name) => watch(name, cronFires(name, nodes, resource)));

// The host that lost the race exits at once; the winner's report runs until its input ends.
const first = await Promise.race(hosts.map((host, i) => host.exited.then(() => i)));
const loser = hosts[first]!;
const winner = hosts[1 - first]!;
const loserCode = await loser.exited;
console.log(`${loser.name}: redlock exited with ${loserCode} (busy: the job runs on another host)`);
const started = await winner.firstLine;
winner.child.stdin!.end();
const winnerCode = await winner.exited;
for (const line of winner.lines) console.log(line);
console.log(`${winner.name}: redlock exited with ${winnerCode} (the report's own status)`);
await redis.close();

const ok =
  loserCode === EXIT_CODES.busy &&
  loser.lines.length === 0 &&
  started !== undefined &&
  winnerCode === 0;
console.log(ok ? "exactly one host ran the nightly report" : "FAILED: not exactly one run");
if (!ok) process.exitCode = 1;
