import type { ContenderId } from "./contenders";

export type Mode = "full" | "quick" | "smoke";

/** What one run measures and for how long. */
export interface Plan {
  mode: Mode;
  rounds: number;
  /** Node counts of the uncontended scenarios. */
  topologies: number[];
  /** Node counts of the contended scenarios. */
  contendedTopologies: number[];
  /** Total per contender and cell, split into `slices` interleaved with the other contenders. */
  serialMs: number;
  concurrentMs: number;
  slices: number;
  callers: number;
  warmupOps: number;
  warmupMs: number;
  contendedMs: number;
  contendedWorkers: number;
  holdMs: number;
  frozenMs: number;
  /** An operation that takes longer than this with 2 of 5 nodes frozen counts as stalled. */
  stallMs: number;
  soakCycles: number;
  /** Cycles for the Upstash adapter, whose REST round trips are far slower. */
  soakCyclesUpstash: number;
  soakConcurrency: number;
  /** Contenders of the contended hand-off, of those that take part in it; undefined = all. */
  contendedOnly?: ContenderId[];
  /** Contenders of the frozen-nodes scenario; undefined = all. */
  frozenOnly?: ContenderId[];
  /** Contenders of the soak; undefined = all. */
  soakOnly?: ContenderId[];
  outDir: "results" | "tmp";
}

const OURS: ContenderId[] = ["ours-ioredis", "ours-node-redis", "ours-upstash"];

export function planFor(mode: Mode, rounds?: number): Plan {
  const base = {
    callers: 64,
    contendedWorkers: 16,
    holdMs: 1,
    soakConcurrency: 32,
  };
  switch (mode) {
    case "full":
      return {
        ...base,
        mode,
        rounds: rounds ?? 3,
        topologies: [1, 3, 5],
        contendedTopologies: [1, 3, 5],
        serialMs: 2000,
        concurrentMs: 2000,
        slices: 10,
        warmupOps: 1000,
        warmupMs: 500,
        contendedMs: 3000,
        frozenMs: 3000,
        stallMs: 6000,
        soakCycles: 1_000_000,
        soakCyclesUpstash: 1_000_000,
        soakOnly: OURS,
        outDir: "results",
      };
    case "quick":
      return {
        ...base,
        mode,
        rounds: rounds ?? 1,
        topologies: [1, 3, 5],
        contendedTopologies: [1, 3],
        serialMs: 320,
        concurrentMs: 320,
        slices: 8,
        warmupOps: 200,
        warmupMs: 60,
        contendedMs: 900,
        frozenMs: 400,
        stallMs: 1500,
        soakCycles: 100_000,
        soakCyclesUpstash: 20_000,
        soakOnly: OURS,
        outDir: "results",
      };
    case "smoke":
      return {
        ...base,
        mode,
        rounds: rounds ?? 1,
        topologies: [1],
        contendedTopologies: [1],
        serialMs: 100,
        concurrentMs: 100,
        slices: 1,
        warmupOps: 50,
        warmupMs: 30,
        contendedMs: 300,
        frozenMs: 100,
        stallMs: 500,
        soakCycles: 2000,
        soakCyclesUpstash: 500,
        contendedOnly: ["raw", "ours-ioredis"],
        frozenOnly: ["raw", "raw-node-redis", "ours-ioredis", "ours-node-redis"],
        soakOnly: ["ours-ioredis"],
        outDir: "tmp",
      };
  }
}
