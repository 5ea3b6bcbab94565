export { MAX_TIMER_DELAY } from "../internal/timers";
export {
  ACQUIRE_SCRIPT,
  createScript,
  defaultScripts,
  EXTEND_SCRIPT,
  RELEASE_SCRIPT,
  releaseChannel,
} from "../scripts";
export { WAITING_LINE } from "../scripts-common";
export {
  ACQUIRE_GUARDED_SCRIPT,
  FENCE_SCRIPT,
  fenceKey,
  prefixKeepsSlot,
  RESERVED_NAMESPACE,
  waitingLineKey,
} from "../scripts-guarded";
export { ADOPT_SCRIPT, INSPECT_SCRIPT } from "../scripts-inspect";
export {
  READ_ACQUIRE_SCRIPT,
  RW_EXTEND_SCRIPT,
  RW_RELEASE_SCRIPT,
  WRITE_ACQUIRE_SCRIPT,
} from "../scripts-rwlock";
export {
  SEMAPHORE_ACQUIRE_SCRIPT,
  SEMAPHORE_EXTEND_SCRIPT,
  SEMAPHORE_RELEASE_SCRIPT,
} from "../scripts-semaphore";
export { sha1 } from "../sha1";
export {
  evalShaOrEval,
  isNoScriptError,
  type RaceCall,
  type RaceOptions,
  raceReply,
  type ScriptCommand,
} from "./call";
export {
  type ConnectionWatch,
  unreachableError,
  type WatchOptions,
  watchConnection,
} from "./connection";
export {
  DEFAULT_RUNNER_TIMEOUT,
  type RunnerOptions,
  type RunnerSettings,
  runnerSettings,
} from "./options";
export {
  createReleaseListeners,
  type ReleaseListeners,
  type ReleaseTransport,
} from "./release-listeners";
export {
  type AdapterRedlock,
  adapterRedlock,
  type ClientKind,
  runnersFrom,
} from "./runners-from";
export { sanitizeError } from "./sanitize";
export {
  acknowledgedReplicas,
  createScriptRunner,
  type DriverRunner,
  type ScriptDriver,
  waitCommand,
} from "./script-runner";
