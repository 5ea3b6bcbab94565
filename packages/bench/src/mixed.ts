import type { Redis } from "ioredis";
import { type ContenderId, contender, type Endpoints } from "./contenders";
import { measureContended } from "./measure";

/** One process per driver, all contending for one key: ours over ioredis, node-redis and Upstash. */
export const MIXED_CONTENDERS: readonly ContenderId[] = [
  "ours-ioredis",
  "ours-node-redis",
  "ours-upstash",
];

/** One mixed-deployment run: each driver's share of the acquisitions. */
export interface MixedRow {
  nodes: number;
  workersPerProcess: number;
  handoffsPerSec: number;
  waitP99Ms: number;
  failed: number;
  meViolations: number;
  /** Acquisitions per driver, in {@link MIXED_CONTENDERS} order. */
  acquisitions: number[];
}

export interface MixedOptions {
  workerPath: string;
  endpoints: Endpoints;
  admins: readonly Redis[];
  nodes: number;
  key: string;
  workers: number;
  holdMs: number;
  windowMs: number;
}

/**
 * A mixed deployment: one process per driver, `workers` callers split evenly over them, all on
 * one key, each with the library defaults. A driver that waits worse than the others (polling
 * where the others are woken) gets fewer acquisitions than its fair share.
 */
export async function measureMixed(options: MixedOptions): Promise<MixedRow> {
  const procs = MIXED_CONTENDERS.length;
  const { metrics } = await measureContended({
    workerPath: options.workerPath,
    contender: MIXED_CONTENDERS,
    endpoints: options.endpoints,
    admins: options.admins,
    key: options.key,
    procs,
    workers: options.workers,
    holdMs: options.holdMs,
    windowMs: options.windowMs,
  });
  return {
    nodes: options.nodes,
    workersPerProcess: Math.floor(options.workers / procs),
    handoffsPerSec: metrics.handoffsPerSec ?? 0,
    waitP99Ms: metrics.waitP99Ms ?? 0,
    failed: metrics.failed ?? 0,
    meViolations: metrics.meViolations ?? 0,
    acquisitions: MIXED_CONTENDERS.map((_, proc) => metrics[`acqProc${proc}`] ?? 0),
  };
}

/** Each driver's share of the acquisitions as a fraction of its fair share (1 = fair). */
export function fairShares(row: MixedRow): number[] {
  const total = row.acquisitions.reduce((sum, n) => sum + n, 0);
  const fair = total / row.acquisitions.length;
  return row.acquisitions.map((n) => (fair > 0 ? n / fair : 0));
}

export function mixedTable(rows: readonly MixedRow[]): string[] {
  if (rows.length === 0) return [];
  const first = rows[0]!;
  const labels = MIXED_CONTENDERS.map((id) => contender(id).label);
  return [
    `## 7. Mixed deployment: one process per driver, ${first.workersPerProcess} workers each, one key, library defaults`,
    "",
    "Services on different drivers share one lock. Each cell is a driver's acquisitions and, in brackets, its share as a fraction of the fair share (1.00 = a third of all acquisitions); the target is at least 0.5 for every driver.",
    "",
    `| nodes | hand-offs/s | wait p99 ms | failed | ME violations | ${labels.join(" | ")} |`,
    `| --- | --- | --- | --- | --- | ${labels.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => {
      const shares = fairShares(row);
      const cells = row.acquisitions.map((n, i) => `${n} (${shares[i]!.toFixed(2)})`);
      return `| ${row.nodes} | ${Math.round(row.handoffsPerSec)} | ${row.waitP99Ms.toFixed(1)} | ${row.failed} | ${row.meViolations} | ${cells.join(" | ")} |`;
    }),
  ];
}
