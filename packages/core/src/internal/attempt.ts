import { sanitizeError } from "../adapter/sanitize";
import { LockConflictError, LockMissingError, NodeError, NodeTimeoutError } from "../errors";
import type { LockScript, ScriptRunner } from "../script-runner";
import type { ExecutionStats } from "../stats";
import { quorum } from "../validity";
import type { Deadlines } from "./deadlines";

/** How one node's reply counts: a vote for (with an optional detail) or against. */
export type Vote<D> =
  | { readonly for: true; readonly detail: D }
  | { readonly for: false; readonly error: Error };

/** Turns a node's raw reply into a vote; throws `UnexpectedReplyError` on a malformed reply. */
export type Classify<D> = (reply: unknown, runner: ScriptRunner, name: string) => Vote<D>;

/** How one node voted: granted, refused (another holder, or the keys are gone), or failed. */
export type VoteKind = "for" | "conflict" | "missing" | "failed";

/**
 * An attempt's outcome, known before slow nodes have answered. The vote counts are live: they
 * keep growing as late replies arrive.
 */
export interface Decision<D> {
  readonly granted: boolean;
  /** Details of the votes for, in arrival order. */
  readonly details: readonly D[];
  /** Nodes that voted against because another lock holds a resource. */
  readonly conflicts: number;
  /** Nodes that voted against because the lock's keys are gone there (extend only). */
  readonly missing: number;
  /** Nodes that failed: errors, timeouts, malformed replies. */
  readonly failures: readonly NodeError[];
  /** Longest remaining TTL reported by a conflicting node, in ms (0 when unknown). */
  readonly holderTtl: number;
  /** Nodes that have not answered yet. */
  readonly pending: number;
  /** Resolves with every vote once all nodes answered or timed out; never rejects. */
  readonly stats: Promise<ExecutionStats>;
  /** See {@link Attempt.forEachVote}. */
  forEachVote(callback: (node: number, kind: VoteKind) => void): void;
}

/** A running attempt: its decision, and each node's vote as it comes in. */
export interface Attempt<D> extends Promise<Decision<D>> {
  /**
   * Calls `callback` with each node's index and vote: at once for the nodes that voted, and
   * later for the others as they answer or time out. Usable before the decision.
   */
  forEachVote(callback: (node: number, kind: VoteKind) => void): void;
}

export interface AttemptOptions<D> {
  readonly runners: readonly ScriptRunner[];
  readonly names: readonly string[];
  readonly script: LockScript;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
  readonly timeout: number;
  readonly deadlines: Deadlines;
  readonly classify: Classify<D>;
  readonly onNodeError: (error: NodeError) => void;
  /** Nodes whose vote a granted decision also waits for (release: the nodes holding the keys). */
  readonly awaitNodes?: ReadonlySet<number>;
}

/**
 * Send one script to every node in parallel and resolve as soon as the outcome is certain: a
 * quorum voted for, or so many voted against that a quorum is impossible. Slow nodes are never
 * waited for beyond that; a node silent for `timeout` ms counts against.
 */
export function runAttempt<D>(options: AttemptOptions<D>): Attempt<D> {
  const { runners, names } = options;
  const membershipSize = runners.length;
  const quorumSize = quorum(membershipSize);
  const stats: ExecutionStats = {
    membershipSize,
    quorumSize,
    votesFor: new Set(),
    votesAgainst: new Map(),
  };
  const details: D[] = [];
  const failures: NodeError[] = [];
  let conflicts = 0;
  let missing = 0;
  let holderTtl = 0;
  let pending = membershipSize;
  let awaited = options.awaitNodes?.size ?? 0;
  const kinds: (VoteKind | undefined)[] = new Array(membershipSize);
  let watchers: ((node: number, kind: VoteKind) => void)[] | undefined;
  let settleStats: (value: ExecutionStats) => void = () => {};
  const statsPromise = new Promise<ExecutionStats>((resolve) => {
    settleStats = resolve;
  });
  const forEachVote = (callback: (node: number, kind: VoteKind) => void) => {
    kinds.forEach((kind, node) => {
      if (kind) callback(node, kind);
    });
    if (pending === 0) return;
    watchers ??= [];
    watchers.push(callback);
  };

  const decision = new Promise<Decision<D>>((resolve) => {
    let decided = false;
    const decide = (granted: boolean) => {
      decided = true;
      // Counts stay live: replies that arrive after the decision still update them.
      resolve({
        granted,
        details,
        failures,
        stats: statsPromise,
        get conflicts() {
          return conflicts;
        },
        get missing() {
          return missing;
        },
        get holderTtl() {
          return holderTtl;
        },
        get pending() {
          return pending;
        },
        forEachVote,
      });
    };
    const record = (node: number, runner: ScriptRunner, name: string, vote: Vote<D>) => {
      let kind: VoteKind;
      if (vote.for) {
        kind = "for";
        stats.votesFor.add(runner);
        details.push(vote.detail);
      } else {
        stats.votesAgainst.set(runner, vote.error);
        if (vote.error instanceof LockConflictError) {
          kind = "conflict";
          conflicts++;
          holderTtl = Math.max(holderTtl, vote.error.holderTtl);
        } else if (vote.error instanceof LockMissingError) {
          kind = "missing";
          missing++;
        } else {
          kind = "failed";
          const error = toNodeError(vote.error, name, options.args);
          failures.push(error);
          options.onNodeError(error);
        }
      }
      kinds[node] = kind;
      if (watchers) for (const watcher of watchers) watcher(node, kind);
      pending--;
      if (options.awaitNodes?.has(node)) awaited--;
      if (!decided) {
        if (stats.votesFor.size >= quorumSize && awaited === 0) decide(true);
        else if (stats.votesAgainst.size > membershipSize - quorumSize) decide(false);
      }
      if (pending === 0) settleStats(stats);
    };

    // One deadline for the whole attempt: every node got its request at the same moment, so they
    // all run out of time together. Its abort signal also tells the runners to stop waiting.
    const finishers: ((vote: Vote<D>) => void)[] = [];
    const deadline = options.deadlines.deadline(options.timeout, runners.length + 1);
    const onTimeout = () => {
      finishers.forEach((finish, i) => {
        finish({ for: false, error: new NodeTimeoutError(names[i] as string, options.timeout) });
      });
    };
    deadline.signal.addEventListener("abort", onTimeout, { once: true });

    runners.forEach((runner, i) => {
      const name = names[i] as string;
      let done = false;
      const finish = (vote: Vote<D>) => {
        if (done) return;
        done = true;
        record(i, runner, name, vote);
        if (pending === 0) {
          deadline.signal.removeEventListener("abort", onTimeout);
          deadline.release();
        }
      };
      finishers.push(finish);
      let reply: Promise<unknown>;
      try {
        reply = runner.run(options.script, options.keys, options.args, {
          signal: deadline.signal,
        });
      } catch (error) {
        reply = Promise.reject(error);
      }
      Promise.resolve(reply).then(
        (value) => {
          let vote: Vote<D>;
          try {
            vote = options.classify(value, runner, name);
          } catch (error) {
            vote = { for: false, error: toNodeError(error, name, options.args) };
          }
          finish(vote);
        },
        (error: unknown) => finish({ for: false, error: toNodeError(error, name, options.args) }),
      );
    });
  });
  return Object.assign(decision, { forEachVote });
}

/**
 * Wrap anything a runner threw so it carries the node's name and, as `cause`, a sanitized copy
 * of the original: a driver's error can hold the call's arguments, and with them the lock value.
 * A `NodeError` is the runner's own and passes through.
 */
export function toNodeError(
  error: unknown,
  node: string,
  args: readonly (string | number)[] = [],
): NodeError {
  if (error instanceof NodeError) return error;
  const cause = sanitizeError(error, args);
  return new NodeError(node, cause.message, { cause });
}
