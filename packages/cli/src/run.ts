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
  type UsingRoutine,
  type UsingSettings,
} from "@redlock/ioredis";
import type { HoldOptions, RunOptions } from "./args";
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
import type { EventFields, Reporter } from "./reporter";

/** The signals `redlock run` (and `redlock semaphore run`) forwards to the command. */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** One of {@link FORWARDED_SIGNALS}. */
type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** The longest delay a Node.js timer takes (about 24.8 days). */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Variables that describe what the command runs under besides `REDLOCK_RESOURCE` and
 * `REDLOCK_EXPIRES_AT`. Inherited ones (from an outer `redlock`) are removed before a
 * {@link Holding} adds its own: they would describe another resource.
 */
export const HOLDING_VARIABLES = [
  "REDLOCK_FENCING_TOKEN",
  "REDLOCK_SEMAPHORE_LIMIT",
  "REDLOCK_PERMITS",
] as const;

/** `using()`'s settings that {@link runUnder} chooses: the wait policy and the extension threshold. */
export type HoldSettings = Omit<UsingSettings, "fencing">;

/**
 * What {@link runUnder} holds while the command runs, and how to describe it: a lock (`redlock
 * run`) or permits of a semaphore (`redlock semaphore run`).
 */
export interface Holding {
  /** What is held, in messages: `the lock`, `the permits`. */
  readonly noun: string;
  /** What is held of which resources, in messages: `job:a, job:b`, `1 of 2 permits of uploads`. */
  readonly label: string;
  /**
   * Take it with `settings`, run `routine` while it is extended automatically, give it back: the
   * contract of `redlock.using()`.
   */
  using<T>(redlock: Redlock, settings: HoldSettings, routine: UsingRoutine<T>): Promise<T>;
  /** The command's variables besides `REDLOCK_RESOURCE` and `REDLOCK_EXPIRES_AT`. */
  variables(lock: Lock): Readonly<Record<string, string>>;
  /** The `acquired` event's fields besides `resources`, `ttl` and `expiresAt`. */
  acquiredFields(lock: Lock): EventFields;
  /** Text added inside the parentheses of the `acquired` line (`; fencing token 7`), or `""`. */
  acquiredNote(lock: Lock): string;
  /** The `busy` line for the library's message: nothing could be taken. */
  busy(message: string): string;
}

/**
 * Where {@link runUnder} is, for the signal handler: waiting for the lock (a signal gives up),
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
export function runCommand(
  options: RunOptions,
  reporter: Reporter,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  return runUnder(options, lockHolding(options), reporter, env);
}

/**
 * The lock of `redlock run`: all of `options.resources`, with a fencing token given to the
 * command as `REDLOCK_FENCING_TOKEN` when `options.fencing` is set.
 */
export function lockHolding(options: RunOptions): Holding {
  return {
    noun: "the lock",
    label: options.resources.join(", "),
    using: (redlock, settings, routine) =>
      redlock.using(
        options.resources,
        options.ttl,
        { ...settings, ...(options.fencing ? { fencing: true } : {}) },
        routine,
      ),
    variables: (lock): Record<string, string> =>
      lock.fencingToken === undefined ? {} : { REDLOCK_FENCING_TOKEN: String(lock.fencingToken) },
    acquiredFields: (lock) =>
      lock.fencingToken === undefined ? {} : { fencingToken: lock.fencingToken },
    acquiredNote: (lock) =>
      lock.fencingToken === undefined ? "" : `; fencing token ${lock.fencingToken}`,
    busy: (message) => `busy: ${message}`,
  };
}

/**
 * Hold `holding` while the command runs: acquire it, run the command while `using()` extends
 * it, stop the command if it is lost, give it back when the command exits. The one
 * implementation of `redlock run` and `redlock semaphore run`.
 * @returns the exit status for `redlock`
 */
export async function runUnder(
  options: HoldOptions,
  holding: Holding,
  reporter: Reporter,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let nodes: Nodes;
  try {
    nodes = connect(options.nodes);
  } catch (error) {
    return failureStatus(error, undefined, holding, reporter);
  }
  const { redlock } = nodes;
  redlock.on("released", (_lock, result) => {
    reporter.progress("released", `released ${holding.label} (${result.outcome})`, {
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
    reportAcquired(options, holding, lock, reporter);
    if (lost.aborted) return lostBeforeStart(lost, holding, reporter);
    let command: RunningCommand;
    try {
      command = await startCommand(options.command, commandEnv(env, options, holding, lock));
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
    const status = await supervise(command, lost, options.grace, holding, reporter);
    phase = { kind: "done" };
    return status;
  };

  try {
    return await holding.using(
      redlock,
      { ...holdSettings(options, redlock), signal: giveUp.signal },
      (lost, { lock }) => routine(lost, lock),
    );
  } catch (error) {
    return failureStatus(error, interrupted, holding, reporter);
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
  holding: Holding,
  reporter: Reporter,
): Promise<number> {
  let wasLost = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onLost = () => {
    wasLost = true;
    const reason = lostReason(lost);
    reporter.problem(
      "lost",
      `lost ${holding.noun}: ${reason} Stopping the command: SIGTERM, then SIGKILL after ${formatDuration(grace)}.`,
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

/** `using()`'s settings for `options`: the wait policy and the extension threshold. */
function holdSettings(options: HoldOptions, redlock: Redlock): HoldSettings {
  const wait =
    options.wait.kind === "none"
      ? { retryCount: 0 }
      : options.wait.kind === "until"
        ? { retryCount: -1, acquireTimeout: options.wait.ms }
        : {};
  return {
    ...wait,
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
 * The command's environment: ours, plus `REDLOCK_RESOURCE`, `REDLOCK_EXPIRES_AT` (the expiry
 * when the command started) and the holding's own variables (`REDLOCK_FENCING_TOKEN` with
 * `--fencing`; `REDLOCK_SEMAPHORE_LIMIT` and `REDLOCK_PERMITS` for a semaphore). Inherited
 * {@link HOLDING_VARIABLES} are removed first. Never the lock's value.
 */
function commandEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: HoldOptions,
  holding: Holding,
  lock: Lock,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of HOLDING_VARIABLES) delete out[name];
  return {
    ...out,
    REDLOCK_RESOURCE: options.resources.join(","),
    REDLOCK_EXPIRES_AT: String(expiresAt(lock)),
    ...holding.variables(lock),
  };
}

/** The lock's expiry in whole ms since the epoch, rounded down (the lock's own is fractional). */
function expiresAt(lock: Lock): number {
  return Math.floor(lock.expiration);
}

/** Report what was acquired, its TTL, expiry and fencing token or permits (never its value). */
function reportAcquired(
  options: HoldOptions,
  holding: Holding,
  lock: Lock,
  reporter: Reporter,
): void {
  const until = expiresAt(lock);
  reporter.progress(
    "acquired",
    `acquired ${holding.label} for ${formatDuration(options.ttl)} ` +
      `(until ${new Date(until).toISOString()}, extended while the command runs` +
      `${holding.acquiredNote(lock)})`,
    {
      resources: options.resources,
      ttl: options.ttl,
      expiresAt: until,
      ...holding.acquiredFields(lock),
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

/** Why the lock (or the permits) was lost, from the `using()` signal. */
function lostReason(lost: RedlockAbortSignal): string {
  const reason: unknown = lost.error ?? lost.reason;
  return reason instanceof Error ? reason.message : "its validity ran out.";
}

/** The lock (or the permits) was lost before the command could start: it is not started. */
function lostBeforeStart(lost: RedlockAbortSignal, holding: Holding, reporter: Reporter): number {
  reporter.problem("lost", `lost ${holding.noun} before the command started: ${lostReason(lost)}`);
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
  holding: Holding,
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
    reporter.problem("busy", holding.busy(message), { code: error.code });
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
