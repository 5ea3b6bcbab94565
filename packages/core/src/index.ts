export { type Clock, systemClock, type TimerHandle } from "./clock";
export {
  AbortedError,
  ExecutionError,
  InvalidArgumentError,
  type InvalidArgumentReason,
  LockConflictError,
  LockExpiredError,
  LockLostError,
  LockMissingError,
  LockReleasedError,
  NodeError,
  NodeRestartedError,
  NodeTimeoutError,
  NodeUnreachableError,
  QuorumUnreachableError,
  RedlockError,
  type RedlockErrorCode,
  ResourceLockedError,
  ScriptNotSupportedError,
  UnexpectedReplyError,
} from "./errors";
export type { RedlockEvents, RedlockListener } from "./events";
export type { NodeInspection, ResourceInspection } from "./inspection";
export { MAX_TIMER_DELAY } from "./internal/timers";
export { Lock } from "./lock";
export { Redlock } from "./redlock";
export type { ReleaseOutcome, ReleaseResult } from "./release-result";
export { ReadWriteLock, type ReadWriteSettings, type ReadWriteUsingSettings } from "./rwlock";
export type { LockScript, RunOptions, ScriptRunner } from "./script-runner";
export type { LockScripts, ScriptOverride, ScriptOverrides } from "./scripts";
export {
  Semaphore,
  type SemaphoreAcquireSettings,
  type SemaphoreOptions,
  type SemaphoreUsingSettings,
  semaphoreQuorum,
} from "./semaphore";
export {
  type AcquireSettings,
  defaultSettings,
  type RedlockOptions,
  type ReplicaSync,
  type RestartGuard,
  type Settings,
  type UsingSettings,
} from "./settings";
export type { ExecutionResult, ExecutionStats } from "./stats";
export type { RedlockAbortSignal, UsingContext, UsingRoutine } from "./using";
export { MAX_DURATION } from "./validate";
export { drift, quorum, validity } from "./validity";
