export { MAX_TIMER_DELAY } from "../internal/timers";
export { releaseChannel } from "../scripts";
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
