/**
 * The exit statuses of `redlock` that are its own (the sysexits.h values where one fits). Every
 * other status of `redlock run` is the command's: its exit code, or 128 + the signal number when a
 * signal ended it, as a shell reports it. The command can exit with one of these numbers too:
 * with `--json`, the `exited` event on stderr tells the two apart.
 */
export const EXIT_CODES = Object.freeze({
  /** Bad flags or arguments (EX_USAGE); nothing was sent to Redis. */
  usage: 64,
  /** Too many nodes could not be reached, or answered too late, for a quorum (EX_UNAVAILABLE). */
  unreachable: 69,
  /** An unexpected internal error (EX_SOFTWARE). */
  software: 70,
  /** Someone else holds the lock: one try with `--no-wait`, or the wait ran out (EX_TEMPFAIL). */
  busy: 75,
  /** The lock was lost while the command ran; the command was stopped. */
  lost: 76,
  /** The command was found but could not be executed (as in a shell). */
  cannotExecute: 126,
  /** The command was not found (as in a shell). */
  notFound: 127,
} as const);

/** The name of one of {@link EXIT_CODES}. */
export type ExitCodeName = keyof typeof EXIT_CODES;

/** The status a shell reports for a process ended by a signal: 128 + its number. */
export const SIGNAL_EXIT_BASE = 128;
