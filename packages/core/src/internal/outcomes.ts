import {
  AbortedError,
  type ExecutionError,
  LockExpiredError,
  QuorumUnreachableError,
  ResourceLockedError,
} from "../errors";
import type { ReleaseOutcome, ReleaseResult } from "../release-result";
import type { ExecutionStats } from "../stats";
import { quorum } from "../validity";
import type { Decision } from "./attempt";
import { type StatsSource, statsOf } from "./attempts";
import type { ReleaseDetail } from "./replies";

/**
 * Could this failed attempt have left keys on some node? A node that voted for, failed, or has
 * not answered yet may hold a grant; a conflict vote wrote nothing.
 */
export function mayHaveWritten(decision: Decision<unknown>): boolean {
  return decision.granting > 0 || decision.failures.length > 0 || decision.pending > 0;
}

/** The error a failed acquire or extend attempt ends with: who stood in the way decides the class. */
export function failure(
  operation: "acquire" | "extend" | "adopt",
  resources: readonly string[],
  decision: Decision<unknown>,
  sources: readonly StatsSource[],
  membership: number,
  needed = quorum(membership),
): ExecutionError {
  const attempts = statsOf(sources);
  const failed = decision.failures;
  const { conflicts, missing } = decision;
  const tolerated = membership - needed;
  const answered = decision.granting + conflicts + missing;
  const counted = `${answered === membership ? "" : ` of the ${answered} that answered`}`;
  if (operation !== "acquire" && conflicts <= tolerated && conflicts + missing > tolerated) {
    return new LockExpiredError(
      `Could not ${operation} ${list(resources)}: the lock is gone (its keys expired or were deleted ` +
        `on ${missing} of ${membership} nodes${counted}).`,
      attempts,
    );
  }
  const unreachable = membership - failed.length < needed;
  if (!unreachable && conflicts > 0) {
    const verb = operation === "extend" ? "was taken by another lock" : "is held by another lock";
    return new ResourceLockedError(
      `Could not ${operation} ${list(resources)}: it ${verb} on ${conflicts} of ${membership} nodes${counted}.`,
      attempts,
    );
  }
  const reasons = failed.map((error) => error.message).join("; ");
  return new QuorumUnreachableError(
    `Could not ${operation} ${list(resources)}: ${failed.length} of ${membership} nodes failed` +
      (reasons ? ` (${reasons})` : "") +
      ".",
    attempts,
    { cause: failed.length === 1 ? failed[0] : new AggregateError(failed, reasons) },
  );
}

/** Summarize the release votes into a typed outcome. */
export function releaseResult(
  decision: Decision<ReleaseDetail>,
  keyCount: number,
  sources: readonly StatsSource[],
  releasedBefore = false,
): ReleaseResult {
  let released = 0;
  let expired = 0;
  let notHeld = 0;
  for (const detail of decision.details) {
    if (detail.deleted > 0) released++;
    else if (detail.missing === keyCount) expired++;
    else notHeld++;
  }
  const outcome: ReleaseOutcome = !decision.granted
    ? "partial"
    : released > 0
      ? "released"
      : notHeld > 0
        ? "not-held"
        : releasedBefore
          ? "already-released"
          : "expired";
  return new Released(outcome, sources, {
    released,
    expired,
    notHeld,
    failed: decision.failures.length,
  });
}

/** A {@link ReleaseResult} whose attempt statistics are built when first read. */
class Released implements ReleaseResult {
  readonly #sources: readonly StatsSource[];
  #attempts: ReadonlyArray<Promise<ExecutionStats>> | undefined;

  constructor(
    readonly outcome: ReleaseOutcome,
    sources: readonly StatsSource[],
    readonly nodes: ReleaseResult["nodes"],
  ) {
    this.#sources = sources;
  }

  get attempts(): ReadonlyArray<Promise<ExecutionStats>> {
    this.#attempts ??= statsOf(this.#sources);
    return this.#attempts;
  }
}

export function aborted(
  resources: readonly string[],
  sources: readonly StatsSource[],
  signal: AbortSignal | undefined,
): AbortedError {
  return new AbortedError(`Acquisition of ${list(resources)} was aborted.`, statsOf(sources), {
    cause: signal?.reason,
  });
}

/** Resource names for messages: at most three, each shortened. */
export function list(resources: readonly string[]): string {
  const shown = resources
    .slice(0, 3)
    .map((name) => JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name));
  return `[${shown.join(", ")}${resources.length > 3 ? `, … ${resources.length - 3} more` : ""}]`;
}
