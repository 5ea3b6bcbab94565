import {
  AbortedError,
  drift,
  InvalidArgumentError,
  type Lock,
  LockExpiredError,
  NodeUnreachableError,
  QuorumUnreachableError,
  type Redlock,
  type RedlockAbortSignal,
  ResourceLockedError,
  type UsingSettings,
} from "@redlock/ioredis";
import type { RunOptions } from "./args";
import {
  type CommandExit,
  exitStatus,
  type RunningCommand,
  signalNumber,
  spawnFailureStatus,
  startCommand,
} from "./command";
import { formatDuration } from "./duration";
import { EXIT_CODES, SIGNAL_EXIT_BASE } from "./exit-codes";
import { connect, disconnect, type Nodes } from "./nodes";
import type { Reporter } from "./reporter";

/** The signals `redlock run` forwards to the command. */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** One of {@link FORWARDED_SIGNALS}. */
type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** The longest delay a Node.js timer takes (about 24.8 days). */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Where `redlock run` is, for the signal handler: waiting for the lock (a signal gives up),
 * starting the command (signals are kept for it), running it (signals are forwarded) or done.
 */
type Phase =
  | { readonly kind: "acquiring" }
  | { readonly kind: "starting"; readonly pending: ForwardedSignal[] }
  | { readonly kind: "running"; readonly command: RunningCommand }
  | { readonly kind: "done" };

/**
 * `redlock run`: acquire the lock, run the command while `using()` extends the lock, stop the
 * command if the lock is lost, release the lock when the command exits.
 * @returns the exit status for `redlock`
 */
export async function runCommand(
  options: RunOptions,
  reporter: Reporter,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let nodes: Nodes;
  try {
    nodes = connect(options.nodes);
  } catch (error) {
    return failureStatus(error, undefined, reporter);
  }
  const { redlock } = nodes;
  const label = options.resources.join(", ");
  redlock.on("released", (_lock, result) => {
    reporter.progress("released", `released ${label} (${result.outcome})`, {
      outcome: result.outcome,
    });
  });
  let phase: Phase = { kind: "acquiring" };
  let interrupted: ForwardedSignal | undefined;
  const giveUp = new AbortController();
  const onSignal = (signal: ForwardedSignal) => {
    if (phase.kind === "acquiring") {
      interrupted ??= signal;
      giveUp.abort(new Error(`interrupted by ${signal}`));
    } else if (phase.kind === "starting") {
      phase.pending.push(signal);
    } else if (phase.kind === "running" && phase.command.running) {
      reporter.progress("signal", `forwarding ${signal} to the command`, { signal });
      phase.command.kill(signal);
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

  const routine = async (lost: RedlockAbortSignal, lock: Lock): Promise<number> => {
    // A signal between the grant and this call: give up without starting anything.
    if (interrupted) return interruptedStatus(interrupted, reporter);
    const pending: ForwardedSignal[] = [];
    phase = { kind: "starting", pending };
    reportAcquired(options, lock, reporter);
    if (lost.aborted) return lostBeforeStart(lost, reporter);
    let command: RunningCommand;
    try {
      command = await startCommand(options.command, commandEnv(env, options, lock));
    } catch (error) {
      phase = { kind: "done" };
      const name = JSON.stringify(options.command[0]);
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      reporter.problem("error", `cannot run ${name}: ${reason}`, { code: reason });
      return spawnFailureStatus(error);
    }
    phase = { kind: "running", command };
    reporter.progress("started", `started ${JSON.stringify(options.command[0])}`, {
      pid: command.pid,
    });
    for (const signal of pending) onSignal(signal);
    const status = await supervise(command, lost, options.grace, reporter);
    phase = { kind: "done" };
    return status;
  };

  try {
    return await redlock.using(
      options.resources,
      options.ttl,
      { ...usingSettings(options, redlock), signal: giveUp.signal },
      (lost, { lock }) => routine(lost, lock),
    );
  } catch (error) {
    return failureStatus(error, interrupted, reporter);
  } finally {
    phase = { kind: "done" };
    await disconnect(nodes);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

/** Wait for the command to exit; if the lock is lost first, stop it (SIGTERM, then SIGKILL). */
async function supervise(
  command: RunningCommand,
  lost: RedlockAbortSignal,
  grace: number,
  reporter: Reporter,
): Promise<number> {
  let wasLost = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onLost = () => {
    wasLost = true;
    const reason = lostReason(lost);
    reporter.problem(
      "lost",
      `lost the lock: ${reason} Stopping the command: SIGTERM, then SIGKILL after ${formatDuration(grace)}.`,
      { grace },
    );
    command.kill("SIGTERM");
    killTimer = setTimeout(
      () => {
        if (!command.running) return;
        reporter.problem("killed", "the command outlived --grace: sent SIGKILL", {
          signal: "SIGKILL",
        });
        command.kill("SIGKILL");
      },
      Math.min(grace, MAX_TIMER_DELAY),
    );
  };
  if (lost.aborted) onLost();
  else lost.addEventListener("abort", onLost, { once: true });
  const exit = await command.exited;
  lost.removeEventListener("abort", onLost);
  clearTimeout(killTimer);
  reportExit(exit, reporter);
  return wasLost ? EXIT_CODES.lost : exitStatus(exit);
}

/** `using()`'s settings for `options`: the wait policy, fencing and the extension threshold. */
function usingSettings(options: RunOptions, redlock: Redlock): UsingSettings {
  const wait =
    options.wait.kind === "none"
      ? { retryCount: 0 }
      : options.wait.kind === "until"
        ? { retryCount: -1, acquireTimeout: options.wait.ms }
        : {};
  return {
    ...wait,
    ...(options.fencing ? { fencing: true } : {}),
    automaticExtensionThreshold: extensionThreshold(options.ttl, redlock.settings.driftFactor),
  };
}

/**
 * When to extend a lock of `ttl` ms: when a third of it is left, and never later than 500 ms
 * before it expires, so that a slow node or a retry still fits; capped so that a fresh lock
 * leaves at least 100 ms before its first extension, as `using()` requires.
 */
export function extensionThreshold(ttl: number, driftFactor: number): number {
  return Math.min(Math.max(500, Math.floor(ttl / 3)), ttl - drift(ttl, driftFactor) - 100);
}

/**
 * The command's environment: ours, plus `REDLOCK_RESOURCE`, `REDLOCK_EXPIRES_AT` (the lock's
 * expiry when the command started) and, with `--fencing`, `REDLOCK_FENCING_TOKEN`; an inherited
 * token is removed otherwise. Never the lock's value.
 */
function commandEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: RunOptions,
  lock: Lock,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {
    ...env,
    REDLOCK_RESOURCE: options.resources.join(","),
    REDLOCK_EXPIRES_AT: String(expiresAt(lock)),
  };
  delete out.REDLOCK_FENCING_TOKEN;
  if (lock.fencingToken !== undefined) out.REDLOCK_FENCING_TOKEN = String(lock.fencingToken);
  return out;
}

/** The lock's expiry in whole ms since the epoch, rounded down (the lock's own is fractional). */
function expiresAt(lock: Lock): number {
  return Math.floor(lock.expiration);
}

/** Report the lock, its TTL, expiry and fencing token (never its value). */
function reportAcquired(options: RunOptions, lock: Lock, reporter: Reporter): void {
  const token = lock.fencingToken;
  const until = expiresAt(lock);
  reporter.progress(
    "acquired",
    `acquired ${options.resources.join(", ")} for ${formatDuration(options.ttl)} ` +
      `(until ${new Date(until).toISOString()}, extended while the command runs` +
      `${token === undefined ? "" : `; fencing token ${token}`})`,
    {
      resources: options.resources,
      ttl: options.ttl,
      expiresAt: until,
      ...(token === undefined ? {} : { fencingToken: token }),
    },
  );
}

/** Report how the command ended. */
function reportExit(exit: CommandExit, reporter: Reporter): void {
  const how = exit.code !== null ? `with status ${exit.code}` : `by ${exit.signal}`;
  reporter.progress("exited", `the command ended ${how}`, {
    code: exit.code,
    signal: exit.signal,
    status: exitStatus(exit),
  });
}

/** Why the lock was lost, from the `using()` signal. */
function lostReason(lost: RedlockAbortSignal): string {
  const reason: unknown = lost.error ?? lost.reason;
  return reason instanceof Error ? reason.message : "its validity ran out.";
}

/** The lock was lost before the command could start: it is not started. */
function lostBeforeStart(lost: RedlockAbortSignal, reporter: Reporter): number {
  reporter.problem("lost", `lost the lock before the command started: ${lostReason(lost)}`);
  return EXIT_CODES.lost;
}

/** A signal ended the wait for the lock: 128 + its number, as if it had ended `redlock`. */
function interruptedStatus(signal: ForwardedSignal, reporter: Reporter): number {
  reporter.problem("interrupted", `interrupted by ${signal}; the command was not started`, {
    signal,
  });
  return SIGNAL_EXIT_BASE + signalNumber(signal);
}

/** Report why the lock could not be taken (or `run` failed) and choose the exit status. */
function failureStatus(
  error: unknown,
  interrupted: ForwardedSignal | undefined,
  reporter: Reporter,
): number {
  if (error instanceof AbortedError && interrupted) {
    return interruptedStatus(interrupted, reporter);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof InvalidArgumentError) {
    reporter.problem("usage", message, { reason: error.reason });
    return EXIT_CODES.usage;
  }
  if (error instanceof ResourceLockedError) {
    reporter.problem("busy", `busy: ${message}`, { code: error.code });
    return EXIT_CODES.busy;
  }
  if (
    error instanceof QuorumUnreachableError ||
    error instanceof NodeUnreachableError ||
    error instanceof LockExpiredError
  ) {
    reporter.problem("unreachable", `unreachable: ${message}`, { code: error.code });
    return EXIT_CODES.unreachable;
  }
  reporter.problem("error", `unexpected error: ${message}`);
  return EXIT_CODES.software;
}
