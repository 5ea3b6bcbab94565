export { parseDuration } from "./duration";
export { EXIT_CODES, type ExitCodeName } from "./exit-codes";
