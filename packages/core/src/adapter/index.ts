export { MAX_TIMER_DELAY } from "../internal/timers";
export { releaseChannel } from "../scripts";
export {
  type ConnectionWatch,
  unreachableError,
  type WatchOptions,
  watchConnection,
} from "./connection";
export {
  createReleaseListeners,
  type ReleaseListeners,
  type ReleaseTransport,
} from "./release-listeners";
export { type ClientKind, runnersFrom } from "./runners-from";
export { sanitizeError } from "./sanitize";
