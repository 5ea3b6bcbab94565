import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem, type } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findRedisServer, type RedisNode, startRedisNodes, teardownAll } from "@redlock/testbed";
import { Redis } from "ioredis";
import {
  CONTENDERS,
  type ContenderId,
  contender,
  type Endpoints,
  type LockClient,
} from "./contenders";
import {
  type Measurement,
  measureContended,
  measureFrozen,
  measureSoak,
  type SoakReport,
  settleWithin,
  UncontendedRun,
} from "./measure";
import { type MixedRow, measureMixed } from "./mixed";
import { type Mode, planFor } from "./plan";
import {
  evaluateTargets,
  json,
  type Machine,
  markdown,
  type Report,
  type Sample,
  type ScenarioId,
  summarize,
} from "./report";
import { measureSemaphore, SEMAPHORE_CONTENDERS, type SemaphoreRow } from "./semaphore";
import { shuffled } from "./stats";
import { nowNs } from "./time";

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, "worker.js");
const BRIDGE_HOST = join(here, "bridge-host.js");
const PACKAGE_ROOT = resolve(here, "..");

interface Topology {
  nodes: RedisNode[];
  endpoints: Endpoints;
  admins: Redis[];
  clients: Map<ContenderId, LockClient>;
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

function parseOptions(): { mode: Mode; rounds?: number } {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      rounds: { type: "string" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    log(
      "usage: bench [--quick | --smoke] [--rounds N]\n" +
        "  (default)  full run, ≥3 rounds, 1M soak cycles; results/latest.{md,json}\n" +
        "  --quick    1 round, short windows, 100k soak cycles; under two minutes\n" +
        "  --smoke    a few seconds on 1 node, results in a temporary directory",
    );
    process.exit(0);
  }
  const mode: Mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) {
    throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  }
  return { mode, rounds };
}

function describeMachine(): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${type()} ${release()} ${process.arch}`,
    node: process.version,
    redisServer: findRedisServer()?.version ?? "not found",
    date: new Date().toISOString(),
    loadAverage: { start: loadavg() },
  };
}

/** Starts the Upstash REST bridges in their own process; resolves with one URL per Redis URL. */
async function startBridgeHost(
  redisUrls: string[],
): Promise<{ host: ChildProcess; urls: string[]; token: string }> {
  const host = fork(BRIDGE_HOST, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const started = await new Promise<{ urls: string[]; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Upstash bridges did not start")), 30_000);
    host.once(
      "message",
      (message: { type: string; urls: string[]; token: string; error?: string }) => {
        clearTimeout(timer);
        if (message.type === "started") resolve(message);
        else reject(new Error(message.error));
      },
    );
    host.send({ type: "start", redisUrls });
  });
  return { host, ...started };
}

async function connectAll(
  topologies: Map<number, Topology>,
  unavailable: Partial<Record<ContenderId, string>>,
): Promise<void> {
  const major = Number(process.versions.node.split(".")[0]);
  for (const c of CONTENDERS) {
    for (const [size, topology] of topologies) {
      if (unavailable[c.id]) break;
      try {
        const client = await c.connect(topology.endpoints);
        await client.release(await client.acquire(`bench:probe:${c.id}:${size}`));
        topology.clients.set(c.id, client);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        unavailable[c.id] =
          c.id === "redlock-universal" && major < 22
            ? `n/a (requires Node 22; on ${process.version}: ${why})`
            : `n/a (${why})`;
      }
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  const plan = planFor(options.mode, options.rounds);
  const started = nowNs();
  const machine = describeMachine();
  log(
    `redlock bench, ${plan.mode} mode: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, redis-server ${machine.redisServer}`,
  );

  const sizes = [...new Set([...plan.topologies, ...plan.contendedTopologies, 5])].sort(
    (a, b) => a - b,
  );
  const topologies = new Map<number, Topology>();
  const samples: Sample[] = [];
  const soak: SoakReport[] = [];
  const semaphores: SemaphoreRow[] = [];
  const mixed: MixedRow[] = [];
  const unavailable: Partial<Record<ContenderId, string>> = {};
  let bridgeHost: ChildProcess | undefined;

  try {
    for (const size of sizes) {
      const nodes = await startRedisNodes(size);
      const admins = nodes.map((node) => {
        const admin = new Redis(node.url);
        admin.on("error", () => {});
        return admin;
      });
      topologies.set(size, {
        nodes,
        admins,
        endpoints: { redisUrls: nodes.map((node) => node.url) },
        clients: new Map(),
      });
    }
    const allUrls = [...topologies.values()].flatMap((t) => t.endpoints.redisUrls);
    const bridges = await startBridgeHost(allUrls);
    bridgeHost = bridges.host;
    for (const topology of topologies.values()) {
      topology.endpoints.upstash = {
        token: bridges.token,
        urls: topology.endpoints.redisUrls.map((url) => bridges.urls[allUrls.indexOf(url)]!),
      };
    }
    log(`started ${allUrls.length} redis-server nodes (${sizes.join(", ")}) and their bridges`);

    await connectAll(topologies, unavailable);
    for (const [id, why] of Object.entries(unavailable)) log(`${id}: ${why}`);
    const available = CONTENDERS.map((c) => c.id).filter((id) => !unavailable[id]);
    const only = (list?: ContenderId[]) => available.filter((id) => !list || list.includes(id));
    const handOff = only(plan.contendedOnly).filter((id) => contender(id).handOff);

    const record = (
      scenario: ScenarioId,
      nodes: number,
      procs: number,
      id: ContenderId,
      round: number,
      measurement: Measurement,
    ) => {
      samples.push({ scenario, nodes, procs, contender: id, round, ...measurement });
    };
    const progress = (title: string, id: ContenderId, text: string) =>
      log(
        `${((nowNs() - started) / 1e9).toFixed(0).padStart(4)}s  ${title.padEnd(20)} ${id.padEnd(18)} ${text}`,
      );

    for (let round = 1; round <= plan.rounds; round++) {
      log(`round ${round} of ${plan.rounds}`);
      for (const scenario of ["serial", "concurrent"] as const) {
        const callers = scenario === "serial" ? 1 : plan.callers;
        const durationMs = scenario === "serial" ? plan.serialMs : plan.concurrentMs;
        for (const nodes of plan.topologies) {
          const topology = topologies.get(nodes)!;
          const runs = new Map(
            available.map((id) => [
              id,
              new UncontendedRun(topology.clients.get(id)!, topology.admins, {
                prefix: `bench:${scenario}:${round}:${nodes}:${id}`,
                callers,
                warmupOps: plan.warmupOps,
                warmupMs: plan.warmupMs,
              }),
            ]),
          );
          for (let slice = 0; slice < plan.slices; slice++) {
            for (const id of shuffled(available))
              await runs.get(id)!.slice(durationMs / plan.slices);
          }
          for (const [id, run] of runs) {
            const m = run.result();
            record(scenario, nodes, 1, id, round, m);
            progress(
              `${scenario} ${nodes}n`,
              id,
              `${Math.round(m.metrics.opsPerSec!)} ops/s, p99 ${Math.round(m.metrics.p99Us!)} µs`,
            );
          }
        }
      }

      for (const nodes of plan.contendedTopologies) {
        const topology = topologies.get(nodes)!;
        for (const procs of [1, 2]) {
          for (const id of shuffled(handOff)) {
            const m = await measureContended({
              workerPath: WORKER,
              contender: id,
              endpoints: topology.endpoints,
              admins: topology.admins,
              key: `bench:contended:${round}:${nodes}:${procs}:${id}`,
              procs,
              workers: plan.contendedWorkers,
              holdMs: plan.holdMs,
              windowMs: plan.contendedMs,
            });
            record("contended", nodes, procs, id, round, m);
            progress(
              `contended ${nodes}n ${procs}p`,
              id,
              `${Math.round(m.metrics.handoffsPerSec!)} hand-offs/s, wait p99 ${m.metrics.waitP99Ms!.toFixed(1)} ms, failed ${m.metrics.failed}, ME ${m.metrics.meViolations}`,
            );
          }
        }
      }

      const five = topologies.get(5)!;
      const frozen = five.nodes.slice(3);
      const stalled: Promise<unknown>[] = [];
      for (const node of frozen) node.pause();
      try {
        for (const id of shuffled(only(plan.frozenOnly))) {
          const m = await measureFrozen(five.clients.get(id)!, {
            prefix: `bench:frozen:${round}:${id}`,
            durationMs: plan.frozenMs,
            stallMs: plan.stallMs,
          });
          if (m.stalled) stalled.push(m.stalled);
          record("frozen", 5, 1, id, round, { metrics: m.metrics, errors: m.errors });
          progress(
            "2 of 5 frozen",
            id,
            m.stalled
              ? `stalled after ${m.metrics.ops} ops`
              : `p50 ${Math.round(m.metrics.p50Us!)} µs, p99 ${Math.round(m.metrics.p99Us!)} µs`,
          );
        }
      } finally {
        for (const node of frozen) node.resume();
      }
      await settleWithin(stalled, 15_000);
      await Promise.all([...five.clients.values()].map((client) => client.idle()));
    }

    for (const nodes of plan.contendedTopologies) {
      for (const contender of SEMAPHORE_CONTENDERS) {
        const row = await measureSemaphore(contender, {
          urls: topologies.get(nodes)!.endpoints.redisUrls,
          key: `bench:semaphore:${nodes}:${semaphores.length}`,
          limit: 4,
          workers: plan.contendedWorkers,
          holdMs: plan.holdMs,
          windowMs: plan.contendedMs,
        });
        semaphores.push(row);
        log(
          `${((nowNs() - started) / 1e9).toFixed(0).padStart(4)}s  semaphore ${nodes}n         ${row.contender}: ${Math.round(row.perSec)} acquisitions/s, most inside ${row.maxConcurrent}, failed ${row.failed}`,
        );
      }
    }

    if (!unavailable["ours-upstash"]) {
      for (const nodes of plan.contendedTopologies) {
        const topology = topologies.get(nodes)!;
        const row = await measureMixed({
          workerPath: WORKER,
          endpoints: topology.endpoints,
          admins: topology.admins,
          nodes,
          key: `bench:mixed:${nodes}`,
          workers: plan.contendedWorkers,
          holdMs: plan.holdMs,
          windowMs: plan.contendedMs,
        });
        mixed.push(row);
        log(
          `${((nowNs() - started) / 1e9).toFixed(0).padStart(4)}s  mixed ${nodes}n             ioredis/node-redis/upstash acquisitions ${row.acquisitions.join("/")}, ${Math.round(row.handoffsPerSec)} hand-offs/s, failed ${row.failed}, ME ${row.meViolations}`,
        );
      }
    }

    const one = topologies.get(1)!;
    const soaks = only(plan.soakOnly).map(async (id) => {
      const cycles = id === "ours-upstash" ? plan.soakCyclesUpstash : plan.soakCycles;
      const report = await measureSoak({
        workerPath: WORKER,
        contender: id,
        endpoints: one.endpoints,
        cycles,
        warmup: Math.min(10_000, Math.max(500, cycles / 10)),
        concurrency: plan.soakConcurrency,
      });
      progress(
        "soak 1n",
        id,
        `${report.cycles} cycles in ${report.seconds.toFixed(1)} s, heap ${report.heapGrowthMB >= 0 ? "+" : ""}${report.heapGrowthMB.toFixed(2)} MB, timers ${report.timersBefore} → ${report.timersAfter}`,
      );
      return report;
    });
    soak.push(...(await Promise.all(soaks)));
  } finally {
    for (const topology of topologies.values()) {
      for (const node of topology.nodes) if (node.paused) node.resume();
      await Promise.allSettled([...topology.clients.values()].map((client) => client.close()));
      for (const admin of topology.admins) admin.disconnect();
    }
    bridgeHost?.send({ type: "stop" });
    bridgeHost?.kill();
    await teardownAll();
  }

  machine.loadAverage.end = loadavg();
  const summary = summarize(samples);
  const report: Report = {
    machine,
    plan,
    durationSeconds: (nowNs() - started) / 1e9,
    unavailable,
    samples,
    summary,
    soak,
    semaphores,
    mixed,
    targets: evaluateTargets(summary, samples, soak, plan, unavailable, mixed),
  };
  const text = markdown(report);
  const outDir =
    plan.outDir === "results"
      ? join(PACKAGE_ROOT, "results")
      : mkdtempSync(join(tmpdir(), "redlock-bench-"));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.md"), text);
  writeFileSync(join(outDir, "latest.json"), json(report));
  process.stdout.write(`\n${text}\n`);
  log(`results written to ${join(outDir, "latest.md")} and latest.json`);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    await teardownAll().catch(() => {});
    process.exit(1);
  },
);
