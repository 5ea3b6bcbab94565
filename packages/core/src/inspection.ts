import type { NodeError } from "./errors";

/** What one node reports about one resource. */
export interface NodeInspection {
  /** The runner's name. */
  readonly node: string;
  /**
   * `held`: a lock holds it; `other`: another primitive's key is there (a semaphore or a
   * read-write lock); `free`: nothing; `failed`: the node did not answer (see `error`).
   */
  readonly state: "held" | "free" | "other" | "failed";
  /** Remaining TTL in ms; -1 when the key has no expiry, 0 when free or failed. */
  readonly ttl: number;
  /** Whether it holds the lock value passed to `inspect()` (never another holder's value). */
  readonly mine: boolean;
  /** Why the node failed. */
  readonly error?: NodeError;
}

/** One resource as the quorum sees it, and node by node. */
export interface ResourceInspection {
  readonly resource: string;
  /**
   * `held` when a majority of nodes report it held (by a lock or another primitive), `free` when
   * a majority report it free, `unknown` otherwise (too many nodes failed, or they disagree).
   */
  readonly state: "held" | "free" | "unknown";
  /** A majority of nodes hold the lock value passed to `inspect()`. */
  readonly mine: boolean;
  /**
   * While `held`: milliseconds for which a majority still holds it at the least, measured from
   * when the replies arrived and with the same clock-drift allowance as a lock's validity;
   * 0 otherwise.
   */
  readonly validity: number;
  /** Each node's report, in the order of the nodes. */
  readonly nodes: readonly NodeInspection[];
}
