import {
  LockConflictError,
  LockMissingError,
  NodeRestartedError,
  UnexpectedReplyError,
} from "../errors";
import type { Classify } from "./attempt";

const isInteger = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value);

/**
 * Acquire and extend reply with the number of keys now held (n) when granted, and 0 when
 * another lock holds a key; acquire may return minus the holder's remaining TTL instead of 0,
 * and extend returns -1 when the keys are only missing. Any other reply is malformed.
 */
export function countVote(keyCount: number, script: string): Classify<number> {
  if (script === "acquire" && keyCount < ACQUIRE_VOTES.length) {
    ACQUIRE_VOTES[keyCount] ??= makeCountVote(keyCount, script);
    return ACQUIRE_VOTES[keyCount] as Classify<number>;
  }
  return makeCountVote(keyCount, script);
}

/** Acquire classifiers for small key counts, made once. */
const ACQUIRE_VOTES: (Classify<number> | undefined)[] = new Array(8);
/** Release classifiers for small key counts, made once. */
const RELEASE_VOTES: (Classify<ReleaseDetail> | undefined)[] = new Array(8);

function makeCountVote(keyCount: number, script: string): Classify<number> {
  return (reply, _runner, name) => {
    if (!isInteger(reply)) throw new UnexpectedReplyError(name, script, reply);
    if (reply === keyCount) return { for: true, detail: reply };
    if (script === "extend" && reply === -1) {
      return {
        for: false,
        error: new LockMissingError(name, "extend refused: the lock's keys no longer exist"),
      };
    }
    if (reply > 0 || (reply < 0 && script !== "acquire") || script === "fence") {
      throw new UnexpectedReplyError(name, script, reply);
    }
    return {
      for: false,
      error: new LockConflictError(
        name,
        `${script} refused: another lock holds one of ${keyCount} resources`,
        -reply,
      ),
    };
  };
}

/**
 * Per-node answer to a release: keys deleted, keys already gone (the rest hold another value),
 * and how many subscribers its announcement reached (-1 when the script does not say).
 */
export interface ReleaseDetail {
  readonly deleted: number;
  readonly missing: number;
  readonly heard: number;
}

/**
 * Release replies with `[deleted, missing, heard]`, or `[deleted, missing]` from an earlier
 * version of the script; a plain count (v5-style custom script) means deleted.
 */
export function releaseVote(keyCount: number): Classify<ReleaseDetail> {
  if (keyCount < RELEASE_VOTES.length) {
    RELEASE_VOTES[keyCount] ??= makeReleaseVote(keyCount);
    return RELEASE_VOTES[keyCount] as Classify<ReleaseDetail>;
  }
  return makeReleaseVote(keyCount);
}

function makeReleaseVote(keyCount: number): Classify<ReleaseDetail> {
  return (reply, _runner, name) => {
    if (isInteger(reply) && reply >= 0 && reply <= keyCount) {
      return { for: true, detail: { deleted: reply, missing: 0, heard: -1 } };
    }
    if (Array.isArray(reply) && (reply.length === 2 || reply.length === 3)) {
      const [deleted, missing, heard = -1] = reply as unknown[];
      if (
        isInteger(deleted) &&
        isInteger(missing) &&
        isInteger(heard) &&
        deleted >= 0 &&
        missing >= 0 &&
        heard >= -1 &&
        deleted + missing <= keyCount
      ) {
        return { for: true, detail: { deleted, missing, heard } };
      }
    }
    throw new UnexpectedReplyError(name, "release", reply);
  };
}

/**
 * The guarded acquire script replies `[status, value]`: 1 granted (value: highest fencing
 * counter), 0 held by another lock (value: its TTL), 2 node in restart quarantine (value: ms left).
 */
export function guardedVote(keyCount: number): Classify<number> {
  return (reply, _runner, name) => {
    const [status, value] = Array.isArray(reply) && reply.length === 2 ? (reply as unknown[]) : [];
    // Counters stay below 2^53 − 1, so the next token is still a safe integer.
    if (!isInteger(status) || !isInteger(value) || value < 0 || value >= Number.MAX_SAFE_INTEGER) {
      throw new UnexpectedReplyError(name, "acquire", reply);
    }
    if (status === 1) return { for: true, detail: value };
    if (status === 0) {
      return {
        for: false,
        error: new LockConflictError(
          name,
          `acquire refused: another lock holds one of ${keyCount} resources`,
          value,
        ),
      };
    }
    if (status === 2) return { for: false, error: new NodeRestartedError(name, value) };
    throw new UnexpectedReplyError(name, "acquire", reply);
  };
}

/** Adopt replies: `[1, least PTTL]` held, `[0, holder TTL]` another value, `[-1, 0]` gone. */
export const adoptVote: Classify<number> = (reply, _runner, name) => {
  const [status, ttl] = Array.isArray(reply) ? reply : [];
  if (!isInteger(status) || !isInteger(ttl) || ttl < 0 || status < -1 || status > 1) {
    throw new UnexpectedReplyError(name, "adopt", reply);
  }
  if (status === 1) return { for: true, detail: ttl };
  if (status === -1) {
    return {
      for: false,
      error: new LockMissingError(name, "adopt refused: the lock's keys are gone"),
    };
  }
  return {
    for: false,
    error: new LockConflictError(name, "adopt refused: another lock holds a resource", ttl),
  };
};

/** What one node reports about one key; see `INSPECT_SCRIPT`. */
export interface InspectDetail {
  /** 0 absent, 1 a lock value, 2 another type. */
  readonly kind: 0 | 1 | 2;
  readonly ttl: number;
  readonly mine: boolean;
}

/** Inspect replies: one `[kind, ttl, mine]` per key. Every well-formed reply counts "for". */
export function inspectVote(keyCount: number): Classify<readonly InspectDetail[]> {
  return (reply, _runner, name) => {
    if (!Array.isArray(reply) || reply.length !== keyCount) {
      throw new UnexpectedReplyError(name, "inspect", reply);
    }
    const detail = reply.map((entry: unknown): InspectDetail => {
      const [kind, ttl, mine] = Array.isArray(entry) ? entry : [];
      if (
        (kind !== 0 && kind !== 1 && kind !== 2) ||
        !isInteger(ttl) ||
        ttl < -1 ||
        (mine !== 0 && mine !== 1)
      ) {
        throw new UnexpectedReplyError(name, "inspect", reply);
      }
      return { kind, ttl, mine: mine === 1 };
    });
    return { for: true, detail };
  };
}
