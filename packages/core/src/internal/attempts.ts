import type { ExecutionStats } from "../stats";

/** How many attempts' statistics an operation keeps: the most recent ones. */
export const MAX_KEPT_ATTEMPTS = 16;

/** Append `stats`, dropping the oldest entries so memory stays bounded under infinite retry. */
export function keepAttempt(list: Promise<ExecutionStats>[], stats: Promise<ExecutionStats>): void {
  list.push(stats);
  if (list.length > MAX_KEPT_ATTEMPTS) list.splice(0, list.length - MAX_KEPT_ATTEMPTS);
}
