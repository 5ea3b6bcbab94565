import { spawn } from "node:child_process";
import { constants } from "node:os";
import { EXIT_CODES, SIGNAL_EXIT_BASE } from "./exit-codes";

/** How a command ended: its exit code, or the signal that ended it. */
export interface CommandExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A command started by {@link startCommand}. */
export interface RunningCommand {
  readonly pid: number;
  /** Settles once the process has exited. */
  readonly exited: Promise<CommandExit>;
  /** Whether the process is still running. */
  readonly running: boolean;
  /** Send `signal` to the process if it still runs. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Start `argv` directly (no shell), with stdin, stdout and stderr inherited.
 * @param argv the command and its arguments
 * @param env its whole environment
 * @returns the command once it runs
 * @throws the spawn error (`ENOENT`, `EACCES`, …) when it could not be started
 */
export function startCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<RunningCommand> {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: "inherit", env });
  const exited = new Promise<CommandExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => {
      child.off("error", reject);
      // Later errors (a signal that could not be sent) change nothing: the exit decides.
      child.on("error", () => {});
      resolve({
        pid: child.pid as number,
        exited,
        get running() {
          return child.exitCode === null && child.signalCode === null;
        },
        kill(signal) {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        },
      });
    });
  });
}

/** The status a shell reports for a command that ended so: its code, or 128 + the signal number. */
export function exitStatus({ code, signal }: CommandExit): number {
  if (code !== null) return code;
  return SIGNAL_EXIT_BASE + signalNumber(signal ?? "SIGKILL");
}

/** The number of `signal` on this platform. */
export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal];
}

/** The status for a command that could not be started: 127 when not found, else 126 (as a shell). */
export function spawnFailureStatus(error: unknown): number {
  return (error as NodeJS.ErrnoException).code === "ENOENT"
    ? EXIT_CODES.notFound
    : EXIT_CODES.cannotExecute;
}
