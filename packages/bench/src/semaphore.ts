import { Redlock } from "@redlock/ioredis";
import { Redis } from "ioredis";
import { RedlockSemaphore, Semaphore } from "redis-semaphore";
import { nowNs } from "./time";

/** One semaphore library's run: its figures for one topology. */
export interface SemaphoreRow {
  readonly contender: string;
  readonly nodes: number;
  readonly limit: number;
  readonly workers: number;
  readonly acquisitions: number;
  readonly perSec: number;
  /** Most holders inside their critical sections at once, as the workers saw it. */
  readonly maxConcurrent: number;
  /** Acquisitions that gave up (the library's default retry budget ran out). */
  readonly failed: number;
  readonly waitP99Ms: number;
}

/** Options of {@link measureSemaphore}. */
export interface SemaphoreRunOptions {
  readonly urls: readonly string[];
  readonly key: string;
  readonly limit: number;
  readonly workers: number;
  readonly holdMs: number;
  readonly windowMs: number;
}

/** A permit to give back. */
type Release = () => Promise<unknown>;

/** How one library takes one permit, with its default settings. */
interface Contender {
  readonly label: string;
  open(
    urls: readonly string[],
    key: string,
    limit: number,
  ): {
    acquire(): Promise<Release>;
    close(): Promise<void>;
  };
}

const clientsFor = (urls: readonly string[]) =>
  urls.map((url) => {
    const client = new Redis(url);
    client.on("error", () => {});
    return client;
  });

/** The libraries compared, each with its defaults (no retry or timeout tuning). */
export const SEMAPHORE_CONTENDERS: readonly Contender[] = [
  {
    label: "@redlock/ioredis semaphore",
    open(urls, key, limit) {
      const redlock = new Redlock(clientsFor(urls));
      const semaphore = redlock.semaphore(key, { limit });
      return {
        acquire: async () => {
          const permit = await semaphore.acquire(10_000);
          return () => permit.release();
        },
        close: () => redlock.quit(),
      };
    },
  },
  {
    label: "redis-semaphore 5.8.0",
    open(urls, key, limit) {
      const clients = clientsFor(urls);
      // Its Semaphore on one node, its RedlockSemaphore on several; no auto-refresh, as ours.
      const make = () =>
        clients.length === 1
          ? new Semaphore(clients[0]!, key, limit, { lockTimeout: 10_000, refreshInterval: 0 })
          : new RedlockSemaphore(clients, key, limit, { lockTimeout: 10_000, refreshInterval: 0 });
      return {
        acquire: async () => {
          const semaphore = make();
          await semaphore.acquire();
          return () => semaphore.release();
        },
        close: async () => {
          for (const client of clients) client.disconnect();
        },
      };
    },
  },
];

/**
 * `workers` loops in this process take a permit, hold it `holdMs`, give it back, for
 * `windowMs`: acquisitions per second, the most holders seen inside at once (never above
 * `limit` for a correct semaphore), failed acquisitions and the wait p99.
 */
export async function measureSemaphore(
  contender: Contender,
  options: SemaphoreRunOptions,
): Promise<SemaphoreRow> {
  const { urls, key, limit, workers, holdMs, windowMs } = options;
  const opened = contender.open(urls, key, limit);
  const waits: number[] = [];
  let inside = 0;
  let maxConcurrent = 0;
  let acquisitions = 0;
  let failed = 0;
  const start = nowNs();
  const end = start + windowMs * 1e6;
  const loop = async () => {
    while (nowNs() < end) {
      const asked = nowNs();
      let release: Release;
      try {
        release = await opened.acquire();
      } catch {
        failed++;
        continue;
      }
      waits.push((nowNs() - asked) / 1e6);
      acquisitions++;
      inside++;
      maxConcurrent = Math.max(maxConcurrent, inside);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      inside--;
      await release().catch(() => {});
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, loop));
  } finally {
    await opened.close();
  }
  const seconds = (nowNs() - start) / 1e9;
  waits.sort((a, b) => a - b);
  return {
    contender: contender.label,
    nodes: urls.length,
    limit,
    workers,
    acquisitions,
    perSec: acquisitions / seconds,
    maxConcurrent,
    failed,
    waitP99Ms: waits[Math.min(waits.length - 1, Math.floor(waits.length * 0.99))] ?? 0,
  };
}

/** The section of the report: one row per library and topology. */
export function semaphoreTable(rows: readonly SemaphoreRow[]): string[] {
  if (rows.length === 0) return [];
  const first = rows[0]!;
  return [
    `## 6. Semaphore, limit ${first.limit}, ${first.workers} workers in one process, library defaults`,
    "",
    "Each worker takes a permit, holds it for the contended hold time and gives it back; `most inside` is the most holders the workers saw in their critical sections at once (above the limit is a safety violation). Our semaphore needs more than nodes × limit / (limit + 1) votes per grant (all 3 of 3 nodes at limit 4); see docs/semaphores.md.",
    "",
    "| library | nodes | acquisitions/s | most inside | failed | wait p99 ms |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (row) =>
        `| ${row.contender} | ${row.nodes} | ${Math.round(row.perSec)} | ${row.maxConcurrent} | ${row.failed} | ${row.waitP99Ms.toFixed(1)} |`,
    ),
  ];
}
