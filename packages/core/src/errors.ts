import type { ExecutionStats } from "./stats";

/** Every code a {@link RedlockError} can carry. Stable across releases: branch on these. */
export type RedlockErrorCode =
  | "INVALID_ARGUMENT"
  | "EXECUTION_FAILED"
  | "RESOURCE_LOCKED"
  | "QUORUM_UNREACHABLE"
  | "LOCK_EXPIRED"
  | "LOCK_RELEASED"
  | "ABORTED"
  | "LOCK_LOST"
  | "NODE_ERROR"
  | "NODE_TIMEOUT"
  | "NODE_UNREACHABLE"
  | "UNEXPECTED_REPLY"
  | "LOCK_CONFLICT"
  | "LOCK_MISSING"
  | "NODE_RESTARTED"
  | "SCRIPT_NOT_SUPPORTED"
  | "REPLICA_SYNC_FAILED";

/** Base class of every error this library throws or emits. */
export class RedlockError extends Error {
  override name = "RedlockError";
  /** A stable machine-readable code; never parse `message`. */
  readonly code: RedlockErrorCode;

  constructor(code: RedlockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What was wrong with an argument, as a stable sub-code of `INVALID_ARGUMENT`. */
export type InvalidArgumentReason =
  | "NO_RESOURCES"
  | "INVALID_RESOURCES"
  | "EMPTY_RESOURCE"
  | "DUPLICATE_RESOURCE"
  | "RESERVED_RESOURCE"
  | "INVALID_DURATION"
  | "INVALID_SETTING"
  | "UNKNOWN_SETTING"
  | "INVALID_THRESHOLD"
  | "INVALID_SIGNAL"
  | "INVALID_ROUTINE"
  | "INVALID_LOCK"
  | "INVALID_VALUE"
  | "NO_RUNNERS"
  | "INVALID_RUNNER"
  | "DUPLICATE_NODE"
  | "INVALID_SCRIPT";

/**
 * Thrown synchronously-before-any-I/O when an argument cannot be used. Nothing was sent to
 * Redis and no lock you held was changed.
 */
export class InvalidArgumentError extends RedlockError {
  override name = "InvalidArgumentError";
  /** Which check failed. */
  readonly reason: InvalidArgumentReason;
  /** The argument or setting at fault, such as `"duration"` or `"settings.retryCount"`. */
  readonly argument: string;

  constructor(reason: InvalidArgumentReason, argument: string, message: string) {
    super("INVALID_ARGUMENT", `Invalid ${argument}: ${message}`);
    this.reason = reason;
    this.argument = argument;
  }
}

/**
 * An operation did not reach a quorum within its retries. Catch this to handle every
 * quorum failure; catch a subclass to handle one cause.
 */
export class ExecutionError extends RedlockError {
  override name = "ExecutionError";
  /** Per-attempt statistics, most recent last (bounded; see `Settings.retryCount`). */
  readonly attempts: ReadonlyArray<Promise<ExecutionStats>>;

  constructor(
    message: string,
    attempts: ReadonlyArray<Promise<ExecutionStats>>,
    code: RedlockErrorCode = "EXECUTION_FAILED",
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.attempts = attempts;
  }
}

/** The resources are held by another lock on enough nodes that a quorum was impossible. */
export class ResourceLockedError extends ExecutionError {
  override name = "ResourceLockedError";
  constructor(message: string, attempts: ReadonlyArray<Promise<ExecutionStats>>) {
    super(message, attempts, "RESOURCE_LOCKED");
  }
}

/** Too many nodes failed or timed out for a quorum; `cause` holds their errors. */
export class QuorumUnreachableError extends ExecutionError {
  override name = "QuorumUnreachableError";
  constructor(
    message: string,
    attempts: ReadonlyArray<Promise<ExecutionStats>>,
    options?: { cause?: unknown },
  ) {
    super(message, attempts, "QUORUM_UNREACHABLE", options);
  }
}

/** The lock's validity ran out: before an extension, or while the quorum was being gathered. */
export class LockExpiredError extends ExecutionError {
  override name = "LockExpiredError";
  constructor(message: string, attempts: ReadonlyArray<Promise<ExecutionStats>> = []) {
    super(message, attempts, "LOCK_EXPIRED");
  }
}

/**
 * The lock was released (through this handle or another handle of the same lock) before or
 * while it was being extended; no validity is handed out after a release began.
 */
export class LockReleasedError extends ExecutionError {
  override name = "LockReleasedError";
  constructor(message: string, attempts: ReadonlyArray<Promise<ExecutionStats>> = []) {
    super(message, attempts, "LOCK_RELEASED");
  }
}

/** An acquisition was cancelled by its `signal`; partial grants were released. */
export class AbortedError extends ExecutionError {
  override name = "AbortedError";
  constructor(
    message: string,
    attempts: ReadonlyArray<Promise<ExecutionStats>>,
    options?: { cause?: unknown },
  ) {
    super(message, attempts, "ABORTED", options);
  }
}

/** Set on the `using()` signal when the lock can no longer be relied on. */
export class LockLostError extends RedlockError {
  override name = "LockLostError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("LOCK_LOST", message, options);
  }
}

/** One node failed an operation. Emitted as an `error` event; never fatal on its own. */
export class NodeError extends RedlockError {
  override name = "NodeError";
  /** The runner's name. */
  readonly node: string;
  constructor(
    node: string,
    message: string,
    options?: { cause?: unknown; code?: RedlockErrorCode },
  ) {
    super(options?.code ?? "NODE_ERROR", `[${node}] ${message}`, options);
    this.node = node;
  }
}

/** One node did not answer within `nodeTimeout`; it counted as a vote against. */
export class NodeTimeoutError extends NodeError {
  override name = "NodeTimeoutError";
  constructor(node: string, timeoutMs: number) {
    super(node, `no reply within ${timeoutMs} ms`, { code: "NODE_TIMEOUT" });
  }
}

/**
 * One node could not be reached at all, and the driver knew it at once: the connection was
 * refused, the client is closed, or it was never connected. The message says what to do. Unlike
 * {@link NodeTimeoutError} (a silent node), nothing was waited for; it counted as a vote against.
 */
export class NodeUnreachableError extends NodeError {
  override name = "NodeUnreachableError";
  constructor(node: string, message: string, options?: { cause?: unknown }) {
    super(node, message, { ...options, code: "NODE_UNREACHABLE" });
  }
}

/** A node replied with something the script cannot return (wrong type or shape). */
export class UnexpectedReplyError extends NodeError {
  override name = "UnexpectedReplyError";
  /** The reply as received. */
  readonly reply: unknown;
  constructor(node: string, script: string, reply: unknown) {
    super(node, `unexpected reply to the ${script} script: ${describe(reply)}`, {
      code: "UNEXPECTED_REPLY",
    });
    this.reply = reply;
  }
}

/** One node holds at least one of the resources under another lock's value. */
export class LockConflictError extends NodeError {
  override name = "LockConflictError";
  /** The holder's remaining TTL on that node in ms, when the script reported it (else 0). */
  readonly holderTtl: number;
  constructor(node: string, message: string, holderTtl = 0) {
    super(node, message, { code: "LOCK_CONFLICT" });
    this.holderTtl = holderTtl;
  }
}

/** A node no longer has one of the lock's keys: it expired there (or was deleted); nobody took it. */
export class LockMissingError extends NodeError {
  override name = "LockMissingError";
  constructor(node: string, message: string) {
    super(node, message, { code: "LOCK_MISSING" });
  }
}

/**
 * A node restarted without its data (its boot marker is younger than the restart guard's
 * period), so its grants are not counted until every lock it may have held has expired.
 */
export class NodeRestartedError extends NodeError {
  override name = "NodeRestartedError";
  /** Milliseconds until the node may grant again. */
  readonly remaining: number;
  constructor(node: string, remaining: number) {
    super(node, `restarted recently; kept out of grants for another ${remaining} ms`, {
      code: "NODE_RESTARTED",
    });
    this.remaining = remaining;
  }
}

/** A runner was asked to run a script it cannot execute (the in-memory runner and custom scripts). */
export class ScriptNotSupportedError extends RedlockError {
  override name = "ScriptNotSupportedError";
  constructor(message: string) {
    super("SCRIPT_NOT_SUPPORTED", message);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === "string") return `string(${value.length})`;
  return typeof value === "number" ? `number ${value}` : typeof value;
}
