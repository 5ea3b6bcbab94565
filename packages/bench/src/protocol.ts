import type { ContenderId, Endpoints } from "./contenders";

/** Parent → worker: contend for one key with `workers` concurrent callers. */
export interface ContendJob {
  type: "contend";
  contender: ContenderId;
  endpoints: Endpoints;
  key: string;
  proc: number;
  workers: number;
  holdMs: number;
}

/** Parent → worker: start the workers at `startAt` and report at `endAt` (monotonic ns). */
export interface Go {
  type: "go";
  startAt: number;
  endAt: number;
}

/** Parent → worker: acquire/release cycles on unique keys, then heap and handle counts. */
export interface SoakJob {
  type: "soak";
  contender: ContenderId;
  endpoints: Endpoints;
  cycles: number;
  warmup: number;
  concurrency: number;
}

export type Job = ContendJob | SoakJob;

/**
 * Worker → parent after a contended run. Flat arrays of numbers (monotonic ns):
 * `holds` = [worker, waitStart, enter, exit]…, `fails` = [worker, waitStart, failedAt]…,
 * `pending` = [worker, waitStart]… for the callers still waiting at `endAt`.
 */
export interface ContendResult {
  type: "contend-result";
  proc: number;
  holds: number[];
  fails: number[];
  pending: number[];
  releaseErrors: number;
  errors: string[];
}

export interface SoakResult {
  type: "soak-result";
  cycles: number;
  seconds: number;
  failures: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  resourcesBefore: Record<string, number>;
  resourcesAfter: Record<string, number>;
  errors: string[];
}

export type WorkerMessage =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | ContendResult
  | SoakResult;
