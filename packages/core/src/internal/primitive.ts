import type { LockScript } from "../script-runner";
import type { Classify } from "./attempt";

/**
 * What makes a kind of hold other than a plain lock (a semaphore's permits): the scripts that
 * acquire, extend and release it, their extra arguments, and how many nodes must grant it.
 * A `Lock` of such a kind carries it in its state, so `extend` and `release` run its scripts.
 * @internal
 */
export interface Primitive {
  /** Names the kind in messages, such as `"semaphore"`. */
  readonly label: string;
  readonly acquireScript: LockScript;
  readonly extendScript: LockScript;
  readonly releaseScript: LockScript;
  /** ARGV after the value and duration for acquire (after the value for release). */
  readonly acquireArgs: readonly (string | number)[];
  readonly extendArgs: readonly (string | number)[];
  readonly releaseArgs: readonly (string | number)[];
  /** Classifies acquire replies (`[status, detail]`, like the guarded acquire). */
  readonly acquireVote: Classify<number>;
  /** Nodes that must grant an acquisition or extension; at least a majority. */
  readonly quorum: number;
}
