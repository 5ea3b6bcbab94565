import {
  InvalidArgumentError,
  LockExpiredError,
  LockLostError,
  LockReleasedError,
  ResourceLockedError,
} from "./errors";
import { setTimer, sleep, type Timer } from "./internal/timers";
import { handleFor, type Lock, lockState } from "./lock";
import type { Redlock } from "./redlock";
import type { UsingSettings } from "./settings";
import { readSettings, validateDuration, validateResources, validateThreshold } from "./validate";
import { drift } from "./validity";

/** The signal given to a `using()` routine; `error` says why it aborted (node-redlock v5 shape). */
export type RedlockAbortSignal = AbortSignal & { error?: Error };

/** What a `using()` routine can read about its lock. */
export interface UsingContext {
  /**
   * A handle that follows every extension: `remainingTime()` and `expiration` always describe
   * the lock as it is now, so it is safe to destructure (`async (signal, { lock }) => …`).
   */
  readonly lock: Lock;
  /** Extensions so far (read it from the context each time; a destructured copy does not change). */
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
  acquire: (names: string[], duration: number, settings: UsingSettings) => Promise<Lock> = (
    names,
    ms,
    options,
  ) => redlock.acquire(names, ms, options),
): Promise<T> {
  const names = validateResources(resources);
  validateDuration(duration, redlock.minDuration);
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
  const acquired = await acquire(names, duration, options);
  // One handle that follows every extension, also one the routine makes through it: the
  // routine sees it, and the timers below read it.
  const state = lockState(acquired);
  const lock = state
    ? handleFor(
        redlock,
        acquired.resources,
        acquired.value,
        acquired.attempts.map((stats) => ({ stats })),
        state,
        true,
      )
    : acquired;
  const heldSince = clock.now();
  const controller = new AbortController();
  const signal = controller.signal as RedlockAbortSignal;
  const stop = new AbortController();
  let extensions = 0;
  let stopped = false;
  let lastError: unknown;
  let extendTimer: Timer | undefined;
  let deadlineTimer: Timer | undefined;
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
      const result: unknown = onLockLost?.(error, lock);
      // A hook that returns a rejected promise must not become an unhandled rejection either.
      if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
        (result as Promise<unknown>).then(undefined, () => {});
      }
    } catch {
      // A lock-lost hook must never turn into an unhandled error.
    }
  };
  // The signal fires at the local validity deadline whatever happens to extensions.
  const armDeadline = () => {
    deadlineTimer?.cancel();
    deadlineTimer = setTimer(clock, lock.remainingTime(), () => {
      // The routine may have extended the lock itself meanwhile.
      if (lock.remainingTime() > 0) return armDeadline();
      lose(new LockLostError(deadlineMessage(), { cause: lastError }));
    });
  };
  const capped = () =>
    maxExtensions !== undefined && extensions >= maxExtensions
      ? `maxExtensions (${maxExtensions})`
      : maxHoldTime !== undefined && clock.now() - heldSince + duration > maxHoldTime
        ? `maxHoldTime (${maxHoldTime} ms)`
        : undefined;
  // Which cap ended the extensions, once one has.
  let cap: string | undefined;
  const deadlineMessage = () =>
    cap
      ? `The lock on ${label} reached its validity deadline: ${cap} allowed no further extension.`
      : `The lock on ${label} reached its validity deadline without a successful extension.`;
  const mayExtend = () => {
    if (stopped) return false;
    cap ??= capped();
    return cap === undefined;
  };

  const extend = async (): Promise<void> => {
    while (mayExtend() && lock.remainingTime() > 0) {
      try {
        // One attempt per try: between tries this loop waits, and it stops at the deadline.
        await lock.extend(duration, extendSettings);
        extensions++;
        if (stopped) return;
        armDeadline();
        schedule();
        return;
      } catch (error) {
        lastError = error;
        if (stopped) return;
        if (error instanceof LockReleasedError) {
          // The routine released the lock itself: nothing is lost, but nothing is held either.
          abort(error);
          return;
        }
        if (error instanceof ResourceLockedError || error instanceof LockExpiredError) {
          // Another lock owns the keys, or they are gone: ours is lost, and never re-acquired.
          lose(
            new LockLostError(
              error instanceof ResourceLockedError
                ? `The lock on ${label} was taken by another holder.`
                : `The lock on ${label} expired before it could be extended.`,
              { cause: error },
            ),
          );
          return;
        }
      }
      if (retryDelay >= lock.remainingTime() || stopped) return;
      try {
        await sleep(clock, retryDelay, stop.signal);
      } catch {
        return;
      }
    }
  };
  const schedule = () => {
    if (!mayExtend()) return;
    extendTimer?.cancel();
    extendTimer = setTimer(clock, Math.max(0, lock.remainingTime() - threshold), () => {
      inflight = extend();
    });
  };
  const onOuterAbort = () => {
    const reason: unknown = outer?.reason;
    abort(reason instanceof Error ? reason : new Error("The caller aborted.", { cause: reason }));
  };

  const context: UsingContext = {
    lock,
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
    stop.abort();
    outer?.removeEventListener("abort", onOuterAbort);
    extendTimer?.cancel();
    deadlineTimer?.cancel();
    await inflight?.catch(() => {});
    try {
      await redlock.release(lock);
    } catch {
      // The routine's own result or error wins (node-redlock #309); release reports through events.
    }
  }
}
