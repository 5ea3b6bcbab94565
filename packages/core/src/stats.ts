import type { ScriptRunner } from "./script-runner";

/**
 * The votes of one attempt, in node-redlock v5's shape. Resolved once every node has answered or
 * timed out, which can be after the attempt's outcome was decided. Never rejects.
 */
export interface ExecutionStats {
  readonly membershipSize: number;
  readonly quorumSize: number;
  readonly votesFor: Set<ScriptRunner>;
  readonly votesAgainst: Map<ScriptRunner, Error>;
}

/** What `release()` and other multi-attempt operations resolve with. */
export interface ExecutionResult {
  /** Per-attempt statistics, most recent last (bounded). */
  readonly attempts: ReadonlyArray<Promise<ExecutionStats>>;
}
