import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { CheckReport } from "./checker";
import { FAULT_DESCRIPTIONS, FAULT_KINDS } from "./nemesis";
import { type RunResult, type RunSpec, runDrivers } from "./run";

/** What a row's result means: must be safe, a planted bug that must be caught, or a documented limitation. */
export type Expectation = "safe" | "planted" | "limitation";

/** One scenario, self-test or randomized run, as it appears in the summary. */
export interface SuiteRow {
  readonly group: "scenario" | "self-test" | "randomized";
  readonly name: string;
  readonly driver: string;
  readonly seed?: number;
  readonly wallMs: number;
  readonly sections: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly overlapsBug: number;
  readonly overlapsAfterValidity: number;
  readonly overlapsNeutralized: number;
  readonly lostUpdates: number;
  readonly rejected: number;
  readonly tokenPairs: number;
  readonly tokenViolations: number;
  readonly keysWithoutTtl: number;
  readonly sectionsPerSecond?: number;
  readonly maxRecoveryMs?: number;
  readonly expectation: Expectation;
  readonly note?: string;
}

export function rowFromReport(
  base: Pick<SuiteRow, "group" | "name" | "driver" | "wallMs" | "expectation"> &
    Partial<Pick<SuiteRow, "seed" | "faults" | "note" | "keysWithoutTtl">>,
  report: CheckReport,
): SuiteRow {
  return {
    faults: {},
    keysWithoutTtl: 0,
    ...base,
    sections: report.sections,
    overlapsBug: report.overlapsBug,
    overlapsAfterValidity: report.overlapsAfterValidity,
    overlapsNeutralized: report.overlapsNeutralized,
    lostUpdates: report.lostUpdates,
    rejected: report.rejectedReads + report.rejectedWrites,
    tokenPairs: report.tokenPairsChecked,
    tokenViolations: report.tokenViolations,
  };
}

export function rowFromRun(
  group: SuiteRow["group"],
  result: RunResult,
  expectation: Expectation,
  note?: string,
): SuiteRow {
  const recoveries = result.recoveries.map((r) => r.ms ?? Number.POSITIVE_INFINITY);
  return {
    ...rowFromReport(
      {
        group,
        name: result.spec.name,
        driver: runDrivers(result.spec).join(" + "),
        seed: result.spec.seed,
        wallMs: result.wallMs,
        expectation,
        faults: result.faults as Record<string, number>,
        keysWithoutTtl: result.keysWithoutTtl.length,
        ...(note ? { note } : {}),
      },
      result.report,
    ),
    sectionsPerSecond: result.sectionsPerSecond,
    ...(recoveries.length ? { maxRecoveryMs: Math.max(...recoveries) } : {}),
  };
}

/**
 * What a semaphore or read-write lock run shows besides its violations, for the Runs table:
 * whether the semaphore was ever full, and whether readers did run side by side.
 */
export function primitiveNote(spec: RunSpec, report: CheckReport): string | undefined {
  const notes = [
    ...(spec.semaphore
      ? [
          `semaphore: at most ${Math.max(0, ...Object.values(report.peakPermits))} of ${spec.semaphore.limit} permits held by valid holders`,
        ]
      : []),
    ...(spec.rwLock
      ? [
          `read-write lock: ${report.writeSections} writes, ${report.readOverlaps} read/read overlaps`,
        ]
      : []),
  ];
  return notes.length > 0 ? notes.join("; ") : undefined;
}

export interface SuiteMeta {
  readonly seed: number;
  readonly seedFromEnv: boolean;
  readonly seconds: number;
  readonly wallMs: number;
  /** Names of the checks that failed. */
  readonly failedChecks: readonly string[];
}

const num = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : "∞");

function sum(rows: readonly SuiteRow[], pick: (row: SuiteRow) => number): number {
  return rows.reduce((total, row) => total + pick(row), 0);
}

/** Fault counts summed over rows, in catalogue order. */
export function faultTotals(rows: readonly SuiteRow[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const kind of FAULT_KINDS) {
    const n = sum(rows, (row) => row.faults[kind] ?? 0);
    if (n > 0) totals[kind] = n;
  }
  return totals;
}

/** A Markdown table with padded columns (the layout the repository's formatter produces). */
export function table(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const rows = [header, ...body].map((row) => row.map((cell) => cell.replaceAll("|", "\\|")));
  const width = (text: string) => [...text].length;
  const widths = header.map((_, c) => Math.max(3, ...rows.map((row) => width(row[c] ?? ""))));
  const line = (row: readonly string[]) =>
    `| ${widths.map((w, c) => (row[c] ?? "") + " ".repeat(w - width(row[c] ?? ""))).join(" | ")} |`;
  return [
    line(rows[0] as string[]),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.slice(1).map(line),
  ];
}

/** The Markdown summary of the whole suite. */
export function renderSummary(rows: readonly SuiteRow[], meta: SuiteMeta): string {
  const safe = rows.filter((r) => r.expectation === "safe");
  const planted = rows.filter((r) => r.expectation === "planted");
  const limitation = rows.filter((r) => r.expectation === "limitation");
  const faults = faultTotals(rows);
  const groups = [safe, planted, limitation];
  const seeds = rows.filter((r) => r.seed !== undefined);
  const lines = [
    "# Fault-injection suite: latest run",
    "",
    meta.failedChecks.length === 0
      ? "- Result: **passed**"
      : `- Result: **FAILED** (${meta.failedChecks.length}): ${meta.failedChecks.map((name) => `“${name}”`).join("; ")}`,
    `- Wall time: ${(meta.wallMs / 1000).toFixed(1)} s (RL_FAULT_SECONDS=${meta.seconds})`,
    `- Base seed: \`${meta.seed}\`${meta.seedFromEnv ? " (from RL_FAULT_SEED)" : ""}; replay with \`RL_FAULT_SEED=${meta.seed} pnpm --filter @redlock/fault-suite test\``,
    `- Critical sections: **${sum(rows, (r) => r.sections)}** (${sum(safe, (r) => r.sections)} in runs that must be safe)`,
    "",
    "## Totals",
    "",
    ...table(
      ["Measure", "Must be safe", "Planted bugs", "Known limitations (S8, S9)"],
      [
        ["Sections", ...groups.map((g) => String(sum(g, (r) => r.sections)))],
        [
          "Overlaps, library bug (both valid)",
          ...groups.map((g) => String(sum(g, (r) => r.overlapsBug))),
        ],
        [
          "Overlaps after the holder's validity",
          ...groups.map((g) => String(sum(g, (r) => r.overlapsAfterValidity))),
        ],
        [
          "… of which neutralized by fencing",
          ...groups.map((g) => String(sum(g, (r) => r.overlapsNeutralized))),
        ],
        [
          "Lost updates",
          String(sum(safe, (r) => r.lostUpdates)),
          String(sum(planted, (r) => r.lostUpdates)),
          "–",
        ],
        [
          "… in runs without any after-validity overlap",
          String(
            sum(
              safe.filter((r) => r.overlapsAfterValidity === 0),
              (r) => r.lostUpdates,
            ),
          ),
          "",
          "",
        ],
        [
          "Rejected fenced accesses",
          String(sum(safe, (r) => r.rejected)),
          String(sum(planted, (r) => r.rejected)),
          "–",
        ],
        [
          "Fencing pairs checked / violations",
          `${sum(safe, (r) => r.tokenPairs)} / ${sum(safe, (r) => r.tokenViolations)}`,
          "–",
          `${sum(limitation, (r) => r.tokenPairs)} / ${sum(limitation, (r) => r.tokenViolations)}`,
        ],
        ["Lock keys seen without TTL", String(sum(rows, (r) => r.keysWithoutTtl)), "", ""],
      ],
    ),
    "",
    "On a read-write lock an overlap is a pair of sections of which one writes; on a semaphore, an",
    "entry that took the permits held by valid holders over the limit.",
    "",
    "## Faults injected",
    "",
    ...table(
      ["Fault", "Count", "What it does"],
      Object.entries(faults).map(([kind, n]) => [
        kind,
        String(n),
        FAULT_DESCRIPTIONS[kind as keyof typeof FAULT_DESCRIPTIONS],
      ]),
    ),
    "",
    "## Runs",
    "",
    ...table(
      [
        "Group",
        "Name",
        "Driver",
        "Expect",
        "Sections",
        "Faults",
        "Bug overlaps",
        "After-validity (fenced)",
        "Lost",
        "Rejected",
        "Tokens checked / bad",
        "Sections/s",
        "Max recovery ms",
        "Wall s",
        "Seed",
      ],
      rows.map((r) => [
        r.group,
        `${r.name}${r.note ? ` (${r.note})` : ""}`,
        r.driver,
        r.expectation,
        String(r.sections),
        String(Object.values(r.faults).reduce((a, b) => a + b, 0)),
        String(r.overlapsBug),
        `${r.overlapsAfterValidity} (${r.overlapsNeutralized})`,
        String(r.lostUpdates),
        String(r.rejected),
        `${r.tokenPairs} / ${r.tokenViolations}`,
        r.sectionsPerSecond?.toFixed(1) ?? "–",
        r.maxRecoveryMs === undefined ? "–" : num(r.maxRecoveryMs),
        (r.wallMs / 1000).toFixed(1),
        r.seed === undefined ? "–" : String(r.seed),
      ]),
    ),
    "",
    `Seeds: ${seeds.map((r) => `${r.name}=${r.seed}`).join(", ") || "none"}.`,
    "",
  ];
  return lines.join("\n");
}

export function writeSummary(path: string, markdown: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, markdown);
}
