import type { ExecutionStats } from "../stats";

/** How many attempts' statistics an operation keeps: the most recent ones. */
export const MAX_KEPT_ATTEMPTS = 16;

/** What an operation keeps of each attempt: its statistics, built when first asked for. */
export interface StatsSource {
  readonly stats: Promise<ExecutionStats>;
}

/** Append `attempt`, dropping the oldest entries so memory stays bounded under infinite retry. */
export function keepAttempt(list: StatsSource[], attempt: StatsSource): void {
  list.push(attempt);
  if (list.length > MAX_KEPT_ATTEMPTS) list.splice(0, list.length - MAX_KEPT_ATTEMPTS);
}

/** The statistics of each kept attempt, in order (what `attempts` fields hold). */
export function statsOf(list: readonly StatsSource[]): Promise<ExecutionStats>[] {
  return list.map((attempt) => attempt.stats);
}
