import { sanitizeError } from "../adapter/sanitize";
import { LockConflictError, LockMissingError, NodeError, NodeTimeoutError } from "../errors";
import type { LockScript, ScriptRunner } from "../script-runner";
import type { ExecutionStats } from "../stats";
import { quorum } from "../validity";
import type { Deadline, Deadlines } from "./deadlines";

/** How one node's reply counts: a vote for (with an optional detail) or against. */
export type Vote<D> =
  | { readonly for: true; readonly detail: D }
  | { readonly for: false; readonly error: Error };

/** Turns a node's raw reply into a vote; throws `UnexpectedReplyError` on a malformed reply. */
export type Classify<D> = (reply: unknown, runner: ScriptRunner, name: string) => Vote<D>;

/** Called with a node's index, its vote and, for a vote for, its detail. */
export type VoteWatcher<D> = (node: number, kind: VoteKind, detail: D | undefined) => void;

/** How one node voted: granted, refused (another holder, or the keys are gone), or failed. */
export type VoteKind = "for" | "conflict" | "missing" | "failed";

/**
 * An attempt's outcome, known before slow nodes have answered. The vote counts are live: they
 * keep growing as late replies arrive.
 */
export interface Decision<D> {
  readonly granted: boolean;
  /** Details of the votes for, in node order. */
  readonly details: readonly D[];
  /** How many nodes voted for. */
  readonly granting: number;
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
  forEachVote(callback: VoteWatcher<D>): void;
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
  /** Votes for needed to grant; a majority unless given. */
  readonly quorum?: number | undefined;
  /**
   * Called with each node's reply before it is classified; what it resolves with is classified
   * instead, and a rejection counts as that node's failure (replica sync).
   */
  readonly confirm?: ((node: number, reply: unknown) => Promise<unknown>) | undefined;
}

const NO_FAILURES: readonly NodeError[] = Object.freeze([]);

/**
 * One script sent to every node in parallel. `decision` resolves as soon as the outcome is
 * certain: a quorum voted for, or so many voted against that a quorum is impossible. Slow nodes
 * are never waited for beyond that; a node silent for `timeout` ms counts against. The counts
 * stay live: late replies still update them.
 */
export class Attempt<D> implements Decision<D> {
  granted = false;
  /** Votes for so far. */
  granting = 0;
  conflicts = 0;
  missing = 0;
  holderTtl = 0;
  pending: number;
  /** Resolves with this attempt once its outcome is decided; never rejects. */
  readonly decision: Promise<Attempt<D>>;
  readonly #options: AttemptOptions<D>;
  readonly #quorum: number;
  readonly #kinds: (VoteKind | undefined)[];
  #errors: (Error | undefined)[] | undefined;
  #failures: NodeError[] | undefined;
  #for = 0;
  #votesAgainst = 0;
  #decided = false;
  #resolve!: (attempt: Attempt<D>) => void;
  #watchers: VoteWatcher<D>[] | undefined;
  /** Each node's detail, for the watchers (made at the first vote for). */
  #nodeDetails: (D | undefined)[] | undefined;
  #stats: Promise<ExecutionStats> | undefined;
  #settleStats: ((stats: ExecutionStats) => void) | undefined;
  readonly #deadline: Deadline;
  readonly #box: { attempt: Attempt<D> | undefined };

  constructor(options: AttemptOptions<D>) {
    this.#options = options;
    const runners = options.runners;
    const count = runners.length;
    this.#quorum = options.quorum ?? quorum(count);
    this.pending = count;
    this.#kinds = new Array(count);
    this.decision = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    // One deadline for the whole attempt: every node got its request at the same moment, so they
    // all run out of time together. It is also the runners' `RunOptions`: its signal (made only
    // if a runner reads it) tells them to stop waiting.
    this.#deadline = options.deadlines.deadline(options.timeout, () => this.#expire());
    // A driver keeps the callbacks of a request until it settles, which for a frozen node can be
    // long after every vote is counted: they reach this attempt through a box emptied then, so a
    // request stuck in a driver's queue retains a few bytes, not the attempt and its arguments.
    const box: { attempt: Attempt<D> | undefined } = { attempt: this };
    this.#box = box;
    for (let node = 0; node < count; node++) {
      let reply: Promise<unknown>;
      try {
        reply = Promise.resolve(
          (runners[node] as ScriptRunner).run(
            options.script,
            options.keys,
            options.args,
            this.#deadline,
          ),
        );
      } catch (error) {
        reply = Promise.reject(error);
      }
      Attempt.#watch(reply, box, node, options.confirm);
    }
  }

  /**
   * Count `node`'s reply when it comes. Static, so the callbacks close over the box and the
   * node's index only (closures made in the constructor would share its scope, `this` included).
   */
  static #watch<D>(
    reply: Promise<unknown>,
    box: { attempt: Attempt<D> | undefined },
    node: number,
    confirm: AttemptOptions<D>["confirm"],
  ): void {
    if (confirm) reply = reply.then((value) => confirm(node, value));
    reply.then(
      (value) => {
        const attempt = box.attempt;
        if (attempt) attempt.#reply(node, value);
      },
      (error: unknown) => {
        const attempt = box.attempt;
        if (attempt) attempt.#failed(node, error);
      },
    );
  }

  /** Details of the votes for so far, in node order. */
  get details(): readonly D[] {
    const out: D[] = [];
    const kinds = this.#kinds;
    for (let node = 0; node < kinds.length; node++) {
      if (kinds[node] === "for") out.push(this.#nodeDetails?.[node] as D);
    }
    return out;
  }

  /** Nodes that failed: errors, timeouts, malformed replies. */
  get failures(): readonly NodeError[] {
    return this.#failures ?? NO_FAILURES;
  }

  /** Resolves with every vote once all nodes answered or timed out; never rejects. */
  get stats(): Promise<ExecutionStats> {
    if (!this.#stats) {
      if (this.pending === 0) {
        this.#stats = Promise.resolve(this.#buildStats());
      } else {
        this.#stats = new Promise((resolve) => {
          this.#settleStats = resolve;
        });
      }
    }
    return this.#stats;
  }

  /**
   * Calls `callback` with each node's index and vote: at once for the nodes that voted, and
   * later for the others as they answer or time out. Usable before the decision.
   */
  forEachVote(callback: VoteWatcher<D>): void {
    const kinds = this.#kinds;
    for (let node = 0; node < kinds.length; node++) {
      const kind = kinds[node];
      if (kind) callback(node, kind, this.#nodeDetails?.[node]);
    }
    if (this.pending === 0) return;
    this.#watchers ??= [];
    this.#watchers.push(callback);
  }

  #reply(node: number, value: unknown): void {
    if (this.#kinds[node]) return;
    const options = this.#options;
    const name = options.names[node] as string;
    let vote: Vote<D>;
    try {
      vote = options.classify(value, options.runners[node] as ScriptRunner, name);
    } catch (error) {
      vote = { for: false, error: toNodeError(error, name, options.args) };
    }
    if (vote.for) this.#record(node, "for", vote.detail, undefined);
    else this.#against(node, vote.error);
  }

  #failed(node: number, error: unknown): void {
    if (this.#kinds[node]) return;
    const options = this.#options;
    this.#against(node, toNodeError(error, options.names[node] as string, options.args));
  }

  #expire(): void {
    const options = this.#options;
    for (let node = 0; node < this.#kinds.length; node++) {
      if (this.#kinds[node]) continue;
      this.#against(node, new NodeTimeoutError(options.names[node] as string, options.timeout));
    }
  }

  #against(node: number, error: Error): void {
    if (error instanceof LockConflictError) {
      this.conflicts++;
      if (error.holderTtl > this.holderTtl) this.holderTtl = error.holderTtl;
      this.#record(node, "conflict", undefined, error);
    } else if (error instanceof LockMissingError) {
      this.missing++;
      this.#record(node, "missing", undefined, error);
    } else {
      const nodeError = toNodeError(error, this.#options.names[node] as string, this.#options.args);
      this.#failures ??= [];
      this.#failures.push(nodeError);
      this.#options.onNodeError(nodeError);
      this.#record(node, "failed", undefined, nodeError);
    }
  }

  #record(node: number, kind: VoteKind, detail: D | undefined, error: Error | undefined): void {
    this.#kinds[node] = kind;
    if (kind === "for") {
      this.#for++;
      this.granting++;
      this.#nodeDetails ??= new Array(this.#kinds.length);
      this.#nodeDetails[node] = detail;
    } else {
      this.#votesAgainst++;
      this.#errors ??= new Array(this.#kinds.length);
      this.#errors[node] = error;
    }
    if (this.#watchers) for (const watcher of this.#watchers) watcher(node, kind, detail);
    this.pending--;
    if (!this.#decided) {
      const count = this.#kinds.length;
      if (this.#for >= this.#quorum) this.#decide(true);
      else if (this.#votesAgainst > count - this.#quorum) this.#decide(false);
    }
    if (this.pending === 0) {
      this.#box.attempt = undefined;
      this.#deadline.release();
      this.#watchers = undefined;
      this.#settleStats?.(this.#buildStats());
      this.#settleStats = undefined;
    }
  }

  #decide(granted: boolean): void {
    this.#decided = true;
    this.granted = granted;
    this.#resolve(this);
  }

  #buildStats(): ExecutionStats {
    const runners = this.#options.runners;
    const votesFor = new Set<ScriptRunner>();
    const votesAgainst = new Map<ScriptRunner, Error>();
    for (let node = 0; node < runners.length; node++) {
      const runner = runners[node] as ScriptRunner;
      const error = this.#errors?.[node];
      if (this.#kinds[node] === "for") votesFor.add(runner);
      else if (error) votesAgainst.set(runner, error);
    }
    return { membershipSize: runners.length, quorumSize: this.#quorum, votesFor, votesAgainst };
  }
}

/** Send one script to every node; see {@link Attempt}. */
export function runAttempt<D>(options: AttemptOptions<D>): Attempt<D> {
  return new Attempt(options);
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
