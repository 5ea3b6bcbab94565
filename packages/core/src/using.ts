import { sleep } from "./clock";
import { InvalidArgumentError, LockLostError, ResourceLockedError } from "./errors";
import type { Lock } from "./lock";
import type { Redlock } from "./redlock";
import type { UsingSettings } from "./settings";
import { readSettings, validateDuration, validateResources, validateThreshold } from "./validate";
import { drift } from "./validity";

/** The signal given to a `using()` routine; `error` says why it aborted (node-redlock v5 shape). */
export type RedlockAbortSignal = AbortSignal & { error?: Error };

/** What a `using()` routine can read about its lock; `lock` follows extensions. */
export interface UsingContext {
  /** The current lock (a new object after each extension). */
  readonly lock: Lock;
  /** Extensions so far. */
  readonly extensions: number;
}

/** The work done under a `using()` lock. */
export type UsingRoutine<T> = (signal: RedlockAbortSignal, context: UsingContext) => Promise<T> | T;

/** Shortest pause between two failed extension attempts, so a zero `retryDelay` cannot spin. */
const MIN_EXTENSION_RETRY_MS = 10;

/** @internal Implementation of `Redlock.using()`. */
export async function using<T>(
  redlock: Redlock,
  resources: string | readonly string[],
  duration: number,
  settings: UsingSettings | undefined,
  routine: UsingRoutine<T> | undefined,
): Promise<T> {
  const names = validateResources(resources);
  validateDuration(duration);
  // Read once: nothing the caller changes later alters what was checked.
  const options = readSettings(settings);
  if (typeof routine !== "function") {
    throw new InvalidArgumentError(
      "INVALID_ROUTINE",
      "routine",
      "expected a function to run under the lock.",
    );
  }
  const threshold =
    options.automaticExtensionThreshold ?? redlock.settings.automaticExtensionThreshold;
  const driftFactor = options.driftFactor ?? redlock.settings.driftFactor;
  validateThreshold(duration, threshold, drift(duration, driftFactor));
  const retryDelay = Math.max(
    MIN_EXTENSION_RETRY_MS,
    options.retryDelay ?? redlock.settings.retryDelay,
  );
  const { maxExtensions, maxHoldTime, onLockLost, signal: outer } = options;
  const extendSettings = { ...options, retryCount: 0, signal: undefined };

  const clock = redlock.clock;
  let lock = await redlock.acquire(names, duration, options);
  const heldSince = clock.now();
  const controller = new AbortController();
  const signal = controller.signal as RedlockAbortSignal;
  let extensions = 0;
  let stopped = false;
  let lastError: unknown;
  let extendTimer: unknown;
  let deadlineTimer: unknown;
  let inflight: Promise<void> | undefined;
  const label = names.length === 1 ? `"${names[0]}"` : `${names.length} resources`;

  const abort = (error: Error) => {
    if (signal.aborted) return;
    signal.error = error;
    controller.abort(error);
  };
  const lose = (error: Error) => {
    if (signal.aborted || stopped) return;
    abort(error);
    redlock.emit("lost", lock, error);
    try {
      onLockLost?.(error, lock);
    } catch {
      // A lock-lost hook must never turn into an unhandled error.
    }
  };
  // The signal fires at the local validity deadline whatever happens to extensions.
  const armDeadline = () => {
    clock.clearTimeout(deadlineTimer);
    deadlineTimer = clock.setTimeout(() => {
      lose(
        new LockLostError(
          `The lock on ${label} reached its validity deadline without a successful extension.`,
          { cause: lastError },
        ),
      );
    }, lock.remainingTime());
  };
  const mayExtend = () =>
    !stopped &&
    (maxExtensions === undefined || extensions < maxExtensions) &&
    (maxHoldTime === undefined || clock.now() - heldSince + duration <= maxHoldTime);

  const extend = async (): Promise<void> => {
    while (mayExtend() && lock.remainingTime() > 0) {
      try {
        // One attempt per try: between tries this loop waits, and it stops at the deadline.
        lock = await lock.extend(duration, extendSettings);
        extensions++;
        armDeadline();
        schedule();
        return;
      } catch (error) {
        lastError = error;
        if (error instanceof ResourceLockedError) {
          // Another lock owns the keys on a majority: ours is gone, and it is never re-acquired.
          lose(
            new LockLostError(`The lock on ${label} was taken by another holder.`, {
              cause: error,
            }),
          );
          return;
        }
      }
      if (retryDelay >= lock.remainingTime() || stopped) return;
      await sleep(clock, retryDelay);
    }
  };
  const schedule = () => {
    if (!mayExtend()) return;
    extendTimer = clock.setTimeout(
      () => {
        inflight = extend();
      },
      Math.max(0, lock.remainingTime() - threshold),
    );
  };
  const onOuterAbort = () => {
    const reason: unknown = outer?.reason;
    abort(reason instanceof Error ? reason : new Error("The caller aborted.", { cause: reason }));
  };

  const context: UsingContext = {
    get lock() {
      return lock;
    },
    get extensions() {
      return extensions;
    },
  };
  try {
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    if (outer?.aborted) onOuterAbort();
    armDeadline();
    schedule();
    return await routine(signal, context);
  } finally {
    stopped = true;
    outer?.removeEventListener("abort", onOuterAbort);
    clock.clearTimeout(extendTimer);
    clock.clearTimeout(deadlineTimer);
    await inflight?.catch(() => {});
    try {
      await redlock.release(lock);
    } catch {
      // The routine's own result or error wins (node-redlock #309); release reports through events.
    }
  }
}
