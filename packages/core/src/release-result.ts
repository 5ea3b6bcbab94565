import type { ExecutionResult } from "./stats";

/**
 * How a release ended. Release never throws because time ran out:
 * - `released`: a quorum confirmed the lock is gone, and it was still held somewhere;
 * - `expired`: a quorum confirmed the lock is gone, but it had already expired everywhere;
 * - `not-held`: a quorum confirmed the lock is gone, and another lock holds the resources now;
 * - `already-released`: a quorum confirmed the lock is gone, and it had been released before
 *   through this or another handle of the same lock;
 * - `partial`: too few nodes answered; the lock may survive on some of them until its TTL.
 */
export type ReleaseOutcome = "released" | "expired" | "not-held" | "already-released" | "partial";

/** What `release()` resolves with: v5's `ExecutionResult` plus a typed outcome. */
export interface ReleaseResult extends ExecutionResult {
  readonly outcome: ReleaseOutcome;
  /** Nodes per answer, over the last attempt: deleted our keys, found them gone, found another holder, or failed. */
  readonly nodes: {
    readonly released: number;
    readonly expired: number;
    readonly notHeld: number;
    readonly failed: number;
  };
}
