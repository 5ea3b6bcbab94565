import {
  ACQUIRE_DEADLINE,
  CONTENDERS,
  type ContenderId,
  contender,
  LOCK_TTL,
  OURS_WAITING_TEXT,
} from "./contenders";
import type { Metrics, SoakReport } from "./measure";
import { fairShares, type MixedRow, mixedTable } from "./mixed";
import type { Plan } from "./plan";
import { type SemaphoreRow, semaphoreTable } from "./semaphore";
import { median, ratio } from "./stats";

export type ScenarioId = "serial" | "concurrent" | "contended" | "frozen";

/** One measurement of one contender in one cell of one round. */
export interface Sample {
  scenario: ScenarioId;
  nodes: number;
  procs: number;
  contender: ContenderId;
  round: number;
  metrics: Metrics;
  errors: string[];
}

/** Medians over rounds of one cell, and medians of the per-round ratios to its baseline. */
export interface CellSummary {
  scenario: ScenarioId;
  nodes: number;
  procs: number;
  contender: ContenderId;
  rounds: number;
  median: Metrics;
  /** The contender the ratios are to; none for the raw ioredis baseline (no ratios). */
  baseline?: ContenderId;
  ratio: Metrics;
  errors: string[];
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redisServer: string;
  date: string;
  loadAverage: { start: number[]; end?: number[] };
}

export interface Report {
  machine: Machine;
  plan: Plan;
  durationSeconds: number;
  unavailable: Partial<Record<ContenderId, string>>;
  samples: Sample[];
  summary: CellSummary[];
  soak: SoakReport[];
  /** The semaphore comparison (absent in results written before it existed). */
  semaphores?: SemaphoreRow[];
  /** The mixed deployment (absent in results written before it existed). */
  mixed?: MixedRow[];
  targets: TargetRow[];
}

const cellKey = (s: { scenario: string; nodes: number; procs: number }) =>
  `${s.scenario}|${s.nodes}|${s.procs}`;

/**
 * Which contender's figures in the same round and cell `id`'s are divided by: its own
 * `baseline`, except in the contended hand-off when that baseline does not take part in it;
 * then the raw ioredis baseline, the only one that does.
 */
export function baselineOf(scenario: ScenarioId, id: ContenderId): ContenderId | undefined {
  const own = contender(id).baseline;
  if (own === undefined) return undefined;
  return scenario === "contended" && !contender(own).handOff ? "raw" : own;
}

export function summarize(samples: readonly Sample[]): CellSummary[] {
  const byRound = new Map<string, Sample>();
  for (const s of samples) byRound.set(`${cellKey(s)}|${s.round}|${s.contender}`, s);
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const key = `${cellKey(s)}|${s.contender}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: CellSummary[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const baseline = baselineOf(first.scenario, first.contender);
    const medians: Metrics = {};
    const ratios: Metrics = {};
    for (const metric of Object.keys(first.metrics)) {
      medians[metric] = median(group.map((s) => s.metrics[metric] ?? Number.NaN));
      if (baseline === undefined) continue;
      ratios[metric] = median(
        group.map((s) => {
          const base = byRound.get(`${cellKey(s)}|${s.round}|${baseline}`);
          return ratio(s.metrics[metric] ?? Number.NaN, base?.metrics[metric] ?? Number.NaN);
        }),
      );
    }
    out.push({
      scenario: first.scenario,
      nodes: first.nodes,
      procs: first.procs,
      contender: first.contender,
      rounds: group.length,
      median: medians,
      baseline,
      ratio: ratios,
      errors: [...new Set(group.flatMap((s) => s.errors))].slice(0, 3),
    });
  }
  return out;
}

function find(
  summary: readonly CellSummary[],
  scenario: ScenarioId,
  nodes: number,
  procs: number,
  id: ContenderId,
): CellSummary | undefined {
  return summary.find(
    (c) => c.scenario === scenario && c.nodes === nodes && c.procs === procs && c.contender === id,
  );
}

// ---------------------------------------------------------------------------------------------
// Formatting

function num(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  if (value === Number.POSITIVE_INFINITY) return "∞";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function times(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  if (value === Number.POSITIVE_INFINITY) return "∞×";
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(2)}×`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

interface Column {
  key: string;
  header: string;
  digits: number;
  /** Show the ratio to the baseline next to the value. */
  ratio: boolean;
}

const UNCONTENDED: Column[] = [
  { key: "opsPerSec", header: "ops/s", digits: 0, ratio: true },
  { key: "p50Us", header: "p50 µs", digits: 0, ratio: true },
  { key: "p99Us", header: "p99 µs", digits: 0, ratio: true },
  { key: "cpuUsPerOp", header: "client CPU µs/op", digits: 1, ratio: true },
  { key: "redisCpuUsPerOp", header: "Redis CPU µs/op", digits: 1, ratio: true },
  { key: "failures", header: "failed", digits: 0, ratio: false },
];

const CONTENDED: Column[] = [
  { key: "handoffsPerSec", header: "hand-offs/s", digits: 0, ratio: true },
  { key: "acquisitionsPerSec", header: "acq/s", digits: 0, ratio: true },
  { key: "waitP50Ms", header: "wait p50 ms", digits: 1, ratio: true },
  { key: "waitP99Ms", header: "wait p99 ms", digits: 1, ratio: true },
  { key: "fairness", header: "fairness", digits: 2, ratio: true },
  { key: "failed", header: "failed", digits: 0, ratio: false },
  { key: "meViolations", header: "ME violations", digits: 0, ratio: false },
  { key: "redisCpuUsPerAcq", header: "Redis CPU µs/acq", digits: 1, ratio: true },
];

const FROZEN: Column[] = [
  { key: "p50Us", header: "p50 µs", digits: 0, ratio: true },
  { key: "p99Us", header: "p99 µs", digits: 0, ratio: true },
  { key: "opsPerSec", header: "ops/s", digits: 0, ratio: true },
  { key: "failures", header: "failed", digits: 0, ratio: false },
];

function cellText(cell: CellSummary, column: Column, plan: Plan): string {
  if (column.key !== "failures" && cell.scenario === "frozen" && cell.median.stalled) {
    if (column.key === "p99Us" || (column.key === "p50Us" && !cell.median.ops)) {
      return `stalled (> ${num(plan.stallMs / 1000, 1)} s)`;
    }
  }
  const value = num(cell.median[column.key], column.digits);
  if (!column.ratio || cell.baseline === undefined) return value;
  return `${value} (${times(cell.ratio[column.key])})`;
}

function scenarioTable(
  report: Report,
  scenario: ScenarioId,
  columns: Column[],
  layout: { nodes: number; procs: number }[],
  contenders: readonly ContenderId[],
): string {
  const rows: string[][] = [];
  for (const { nodes, procs } of layout) {
    for (const id of contenders) {
      const lead = [String(nodes), ...(scenario === "contended" ? [String(procs)] : [])];
      const label = contender(id).label;
      const unavailable = report.unavailable[id];
      if (unavailable) {
        rows.push([...lead, label, ...columns.map((_, i) => (i === 0 ? unavailable : ""))]);
        continue;
      }
      const cell = find(report.summary, scenario, nodes, procs, id);
      if (!cell) continue;
      rows.push([...lead, label, ...columns.map((column) => cellText(cell, column, report.plan))]);
    }
  }
  const header = [
    "nodes",
    ...(scenario === "contended" ? ["procs"] : []),
    "library",
    ...columns.map((c) => c.header),
  ];
  return table(header, rows);
}

function soakTable(report: Report): string {
  const rows = report.soak.map((s) => [
    contender(s.contender).label,
    num(s.cycles),
    num(s.seconds, 1),
    num(s.heapBeforeMB, 2),
    num(s.heapAfterMB, 2),
    num(s.heapGrowthMB, 2),
    num(s.rssGrowthMB, 1),
    `${s.timersBefore} → ${s.timersAfter}`,
    Object.entries(s.resourcesAfter)
      .map(([name, count]) => `${name}×${count}`)
      .join(", "),
    num(s.failures),
  ]);
  return table(
    [
      "library",
      "cycles",
      "time s",
      "heap before MB",
      "heap after MB",
      "heap growth MB",
      "RSS growth MB",
      "timers before → after",
      "active resources after",
      "failed",
    ],
    rows,
  );
}

// ---------------------------------------------------------------------------------------------
// Targets

export interface TargetRow {
  target: string;
  library: string;
  measured: string;
  met: boolean | undefined;
}

const OURS = CONTENDERS.filter((c) => c.group === "ours").map((c) => c.id);
/** Ours on a TCP client, each held to the raw baseline on its own client library. */
const OURS_TCP: readonly ContenderId[] = ["ours-ioredis", "ours-node-redis"];

interface Check {
  label: string;
  value: number | undefined;
  /** What the value is held to in this cell, when that is a measurement too (NaN: missing). */
  against?: number;
}

const unknown = (v: number | undefined) => v === undefined || Number.isNaN(v);

function verdict(
  checks: Check[],
  ok: (value: number, against: number) => boolean,
): boolean | undefined {
  if (checks.length === 0 || checks.some((c) => unknown(c.value) || Number.isNaN(c.against))) {
    return undefined;
  }
  return checks.every((c) => ok(c.value!, c.against ?? Number.NaN));
}

function describe(checks: Check[], format: (value: number | undefined) => string): string {
  if (checks.length === 0) return "not measured";
  return checks
    .map(
      (c) =>
        `${c.label}: ${format(c.value)}${c.against === undefined ? "" : ` vs ${format(c.against)}`}`,
    )
    .join(" · ");
}

export function evaluateTargets(
  summary: readonly CellSummary[],
  samples: readonly Sample[],
  soak: readonly SoakReport[],
  plan: Plan,
  unavailable: Partial<Record<ContenderId, string>>,
  mixed: readonly MixedRow[] = [],
): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (
    target: string,
    id: ContenderId,
    checks: Check[],
    format: (value: number | undefined) => string,
    ok: (value: number, against: number) => boolean,
  ) => {
    rows.push({
      target,
      library: contender(id).label,
      measured: unavailable[id] ?? describe(checks, format),
      met: unavailable[id] ? undefined : verdict(checks, ok),
    });
  };
  const rawOf = (id: ContenderId) => contender(contender(id).baseline ?? "raw").label;
  const v5 = contender("redlock-5").label;

  // Uncontended: every figure of ours as a ratio to its own raw baseline, same round and cell.
  for (const scenario of ["serial", "concurrent"] as const) {
    const name = scenario === "serial" ? "serial" : `${plan.callers} callers`;
    const nodeCounts = plan.topologies.join("/");
    const scope = `Uncontended ${name}, ${nodeCounts} node${nodeCounts === "1" ? "" : "s"}`;
    const cells = (id: ContenderId, metric: string): Check[] =>
      plan.topologies.map((nodes) => ({
        label: `${nodes}n`,
        value: find(summary, scenario, nodes, 1, id)?.ratio[metric],
      }));
    const versusV5 = (id: ContenderId): Check[] =>
      plan.topologies.map((nodes) => ({
        label: `${nodes}n`,
        value: find(summary, scenario, nodes, 1, id)?.ratio.opsPerSec,
        against: find(summary, scenario, nodes, 1, "redlock-5")?.ratio.opsPerSec ?? Number.NaN,
      }));
    for (const id of OURS) {
      if (OURS_TCP.includes(id)) {
        add(`${scope}: ops/s ≥ 0.97× ${rawOf(id)}`, id, cells(id, "opsPerSec"), times, (v) => {
          return v >= 0.97;
        });
      }
      add(
        `${scope}: ops/s ratio to ${rawOf(id)} ≥ ${v5}'s ratio to ${rawOf("redlock-5")}`,
        id,
        versusV5(id),
        times,
        (v, against) => v >= against,
      );
      add(`${scope}: p99 ≤ 1.2× ${rawOf(id)}`, id, cells(id, "p99Us"), times, (v) => v <= 1.2);
      add(
        `${scope}: client CPU/op ≤ 1.1× ${rawOf(id)}`,
        id,
        cells(id, "cpuUsPerOp"),
        times,
        (v) => v <= 1.1,
      );
    }
  }

  // Two of five nodes frozen; a run that stalled has an unbounded p99 (and p50 when nothing
  // completed).
  for (const id of OURS_TCP) {
    const cell = find(summary, "frozen", 5, 1, id);
    const stalled = samples.some(
      (s) => s.scenario === "frozen" && s.contender === id && s.metrics.stalled,
    );
    const p50 = cell?.ratio.p50Us ?? Number.NaN;
    const p99 = cell?.ratio.p99Us ?? Number.NaN;
    add(
      `2 of 5 nodes frozen: p50 and p99 ≤ 1.2× ${rawOf(id)}`,
      id,
      cell
        ? [
            { label: "p50", value: stalled && Number.isNaN(p50) ? Infinity : p50 },
            { label: "p99", value: stalled ? Infinity : p99 },
          ]
        : [],
      times,
      (v) => v <= 1.2,
    );
  }

  // Contended hand-off, ours with the library's default settings.
  const handOffCells = plan.contendedTopologies
    .filter((nodes) => nodes === 1 || nodes === 3)
    .flatMap((nodes) => [1, 2].map((procs) => ({ nodes, procs })));
  const contended = (id: ContenderId, metric: string): Check[] =>
    handOffCells.map(({ nodes, procs }) => ({
      label: `${nodes}n/${procs}p`,
      value: find(summary, "contended", nodes, procs, id)?.median[metric],
    }));
  const perSecond = (v: number | undefined) => num(v);
  const count = (v: number | undefined) => num(v);
  const fairness = (v: number | undefined) => num(v, 2);
  const scope = `Contended hand-off (defaults), ${plan.contendedWorkers} workers, 1 and 3 nodes, 1 and 2 processes`;
  for (const id of OURS) {
    const minimum = OURS_TCP.includes(id) ? 400 : 100;
    add(
      `${scope}: ≥ ${minimum} hand-offs/s`,
      id,
      contended(id, "handoffsPerSec"),
      perSecond,
      (v) => v >= minimum,
    );
    if (OURS_TCP.includes(id)) {
      add(`${scope}: 0 failed acquisitions`, id, contended(id, "failed"), count, (v) => v === 0);
    }
    add(`${scope}: fairness (Jain) ≥ 0.9`, id, contended(id, "fairness"), fairness, (v) => {
      return v >= 0.9;
    });
    if (OURS_TCP.includes(id)) {
      add(
        `${scope}: wait p99 ≤ 60 ms`,
        id,
        contended(id, "waitP99Ms"),
        (v) => num(v, 1),
        (v) => v <= 60,
      );
    }
  }

  // Redis CPU per acquisition under contention against the same library's uncontended serial
  // Redis CPU per operation on the same number of nodes.
  const cpuCells = plan.contendedTopologies
    .filter((nodes) => plan.topologies.includes(nodes))
    .flatMap((nodes) => [1, 2].map((procs) => ({ nodes, procs })));
  for (const id of OURS) {
    add(
      "Redis CPU per acquisition in the contended hand-off ≤ 2× uncontended serial (same library, same nodes)",
      id,
      cpuCells.map(({ nodes, procs }) => ({
        label: `${nodes}n/${procs}p`,
        value: ratio(
          find(summary, "contended", nodes, procs, id)?.median.redisCpuUsPerAcq ?? Number.NaN,
          find(summary, "serial", nodes, 1, id)?.median.redisCpuUsPerOp ?? Number.NaN,
        ),
      })),
      times,
      (v) => v <= 2,
    );
  }

  for (const id of OURS) {
    const s = soak.find((r) => r.contender === id);
    const label = s ? `${num(s.cycles)} cycles` : "";
    add(
      "Soak: heap growth < 2 MB",
      id,
      s ? [{ label, value: s.heapGrowthMB }] : [],
      (v) => `${num(v, 2)} MB`,
      (v) => v < 2,
    );
    add(
      "Soak: no timers left behind",
      id,
      s ? [{ label, value: s.timersAfter - s.timersBefore }] : [],
      (v) => `${num(v)} more`,
      (v) => v <= 0,
    );
  }
  if (mixed.length > 0) {
    const least = mixed.map((row) => Math.min(...fairShares(row)));
    rows.push({
      target:
        "Mixed deployment (one process per driver: ioredis, node-redis, Upstash), 1 and 3 nodes: every driver's share of acquisitions ≥ 0.5× its fair share",
      library: "@redlock/ioredis, @redlock/node-redis, @redlock/upstash (REST bridge)",
      measured: mixed
        .map(
          (row, i) => `${row.nodes}n: ${row.acquisitions.join("/")}, least ${num(least[i]!, 2)}×`,
        )
        .join(" · "),
      met: least.every((share) => share >= 0.5),
    });
  }
  return rows;
}

function targetsTable(rows: readonly TargetRow[]): string {
  return table(
    ["target", "library", "measured", "met"],
    rows.map((r) => [
      r.target,
      r.library,
      r.measured,
      r.met === undefined ? "—" : r.met ? "met" : "**not met**",
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Markdown

export function markdown(report: Report): string {
  const { machine, plan } = report;
  const ids = CONTENDERS.map((c) => c.id);
  const limited = (only?: ContenderId[]) => ids.filter((id) => !only || only.includes(id));
  const layout = (topologies: number[], procs: number[]) =>
    topologies.flatMap((nodes) => procs.map((p) => ({ nodes, procs: p })));
  const load = (values?: number[]) => values?.map((v) => v.toFixed(2)).join(" / ") ?? "—";
  const roundsText = `${plan.rounds} round${plan.rounds === 1 ? "" : "s"}`;
  const soakText =
    plan.soakCycles === plan.soakCyclesUpstash
      ? `${num(plan.soakCycles)} cycles`
      : `${num(plan.soakCycles)} cycles (${num(plan.soakCyclesUpstash)} for Upstash)`;

  const sections = [
    `# Redlock benchmark (${plan.mode})`,
    "",
    table(
      ["machine", ""],
      [
        ["CPU", `${machine.cpuModel}, ${machine.cores} cores, ${num(machine.memoryGiB, 1)} GiB`],
        ["OS", machine.os],
        ["Node", machine.node],
        ["redis-server", machine.redisServer],
        ["date", machine.date],
        [
          "load average (1/5/15 min) at start / end",
          `${load(machine.loadAverage.start)} → ${load(machine.loadAverage.end)}`,
        ],
        ["run time", `${num(report.durationSeconds, 0)} s, ${roundsText}`],
      ],
    ),
    "",
    `Every contender runs against the same spawned redis-server nodes, one after another in a random order within each round. Figures are medians over ${roundsText}; \`(N×)\` is the median of the per-round ratios to a raw EVALSHA baseline measured in the same round and cell, on the same client library where there is one: ${ratioText()} Lock TTL ${LOCK_TTL} ms everywhere; unique key per operation when uncontended. No library has a client command timeout set.`,
    ...(plan.mode === "full"
      ? []
      : [
          "",
          `**${plan.mode} mode**: short windows (uncontended ${plan.serialMs} ms, contended ${plan.contendedMs} ms, frozen ${plan.frozenMs} ms per contender), ${roundsText}, soak of ${soakText} instead of 1,000,000. Expect more noise than in a full run.`,
        ]),
    "",
    "| library | waits for a busy lock in the contended hand-off by |",
    "| --- | --- |",
    ...CONTENDERS.filter((c) => c.handOff).map((c) => `| ${c.label} | ${c.waiting} |`),
    ...notes(report).flatMap((note) => ["", note]),
    "",
    "## Targets",
    "",
    `Performance targets, checked against this run (they are not test assertions). Uncontended and frozen figures of ours are ratios to the raw baseline on the same client library (same round and cell), and ${contender("redlock-5").label} is held to ${contender("raw").label}, since it runs on ioredis. The Upstash adapter goes over HTTP to a REST bridge in another process and is compared with the TCP ioredis baseline, so its uncontended ratios mostly measure that transport. In the contended hand-off ours run with the library's default settings, so an acquisition that runs out of retries counts as failed.`,
    "",
    targetsTable(report.targets),
    "",
    "## 1. Uncontended, serial (acquire + release, one caller)",
    "",
    scenarioTable(report, "serial", UNCONTENDED, layout(plan.topologies, [1]), ids),
    "",
    `## 2. Uncontended, ${plan.callers} concurrent callers`,
    "",
    scenarioTable(report, "concurrent", UNCONTENDED, layout(plan.topologies, [1]), ids),
    "",
    `## 3. Contended hand-off: ${plan.contendedWorkers} workers on one key, hold ${plan.holdMs} ms`,
    "",
    `One process (${plan.contendedWorkers} workers) or two forked processes (${plan.contendedWorkers / 2} each). The raw baseline and the peers give up after about ${ACQUIRE_DEADLINE / 1000} s; ours call \`acquire\` without settings (${OURS_WAITING_TEXT}), and an acquisition that gives up counts as failed. ${contender("raw-node-redis").label} does not take part, so \`(N×)\` here is to ${contender("raw").label} for every library. A hand-off is an acquisition by a different worker than the previous one. Waits still pending at the end of the window count with their time so far. Fairness is Jain's index of per-worker acquisition counts. Mutual-exclusion violations are overlapping holds across all workers and processes on CLOCK_MONOTONIC. Redis CPU is used_cpu_user + used_cpu_sys over all nodes divided by acquisitions.`,
    "",
    scenarioTable(
      report,
      "contended",
      CONTENDED,
      layout(plan.contendedTopologies, [1, 2]),
      limited(plan.contendedOnly).filter((id) => contender(id).handOff),
    ),
    "",
    "## 4. Two of five nodes frozen (SIGSTOP), serial acquire + release",
    "",
    `An operation still pending after ${num(plan.stallMs / 1000, 1)} s ends that contender's run and is reported as stalled; the nodes are resumed after every contender ran.`,
    "",
    scenarioTable(report, "frozen", FROZEN, [{ nodes: 5, procs: 1 }], limited(plan.frozenOnly)),
    "",
    `## 5. Heap and timers after ${soakText}, 1 node, ${plan.soakConcurrency} concurrent loops`,
    "",
    "One fresh process per library with --expose-gc, the libraries side by side (so `time s` is not a speed figure); heap and active resources measured after warm-up and after the cycles, each time after `redlock.idle()` and full GCs.",
    "",
    soakTable(report),
  ];
  if (report.semaphores?.length) sections.push("", ...semaphoreTable(report.semaphores));
  if (report.mixed?.length) sections.push("", ...mixedTable(report.mixed));
  const errors = report.summary.filter((c) => c.errors.length > 0);
  if (errors.length > 0) {
    sections.push(
      "",
      "## Errors seen",
      "",
      ...errors.map(
        (c) =>
          `- ${c.scenario}, ${c.nodes} nodes${c.scenario === "contended" ? `, ${c.procs} procs` : ""}, ${contender(c.contender).label}: ${c.errors.join("; ")}`,
      ),
    );
  }
  return `${sections.join("\n")}\n`;
}

/** Which baseline each contender's ratios are to, outside the contended hand-off. */
function ratioText(): string {
  const groups = new Map<ContenderId, string[]>();
  for (const c of CONTENDERS) {
    if (c.baseline === undefined) continue;
    groups.set(c.baseline, [...(groups.get(c.baseline) ?? []), c.label]);
  }
  const parts = [...groups].map(
    ([baseline, labels]) => `${labels.join(", ")} to ${contender(baseline).label}`,
  );
  return `${parts.join("; ")}. ${contender("raw").label} has no ratio; the ratio of ${contender("raw-node-redis").label} to it is the difference between the two drivers.`;
}

function notes(report: Report): string[] {
  const out: string[] = [];
  const major = Number(report.machine.node.replace(/^v/, "").split(".")[0]);
  if (major < 22 && !report.unavailable["redlock-universal"]) {
    out.push(
      `redlock-universal 0.8.5 declares \`engines.node >= 22\`; it loaded and passed a probe acquire + release on Node ${report.machine.node}, so it is measured here.`,
    );
  }
  for (const [id, why] of Object.entries(report.unavailable)) {
    out.push(`${contender(id as ContenderId).label}: ${why}`);
  }
  return out;
}

/** JSON with non-finite numbers spelled out (JSON has no Infinity). */
export function json(report: Report): string {
  return `${JSON.stringify(
    report,
    (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : value),
    2,
  )}\n`;
}
