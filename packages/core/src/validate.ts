import { InvalidArgumentError } from "./errors";
import type { Lock } from "./lock";
import type { ScriptRunner } from "./script-runner";
import type { Settings } from "./settings";

/** The longest duration accepted: the largest delay timers support (about 24.8 days). */
export const MAX_DURATION = 2_147_483_647;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** Normalize `resources` to a fresh array of unique, non-empty names. */
export function validateResources(resources: unknown): string[] {
  const list = typeof resources === "string" ? [resources] : resources;
  if (!Array.isArray(list)) {
    throw new InvalidArgumentError(
      "INVALID_RESOURCES",
      "resources",
      `expected a string or an array of strings, got ${typeName(resources)}.`,
    );
  }
  if (list.length === 0) {
    throw new InvalidArgumentError("NO_RESOURCES", "resources", "pass at least one resource name.");
  }
  const seen = new Set<string>();
  for (const [i, name] of list.entries()) {
    if (typeof name !== "string") {
      throw new InvalidArgumentError(
        "INVALID_RESOURCES",
        `resources[${i}]`,
        `expected a string, got ${typeName(name)}.`,
      );
    }
    if (name.length === 0) {
      throw new InvalidArgumentError(
        "EMPTY_RESOURCE",
        `resources[${i}]`,
        "a resource name cannot be empty.",
      );
    }
    if (seen.has(name)) {
      throw new InvalidArgumentError(
        "DUPLICATE_RESOURCE",
        `resources[${i}]`,
        `"${truncate(name)}" appears more than once; list each resource once.`,
      );
    }
    seen.add(name);
  }
  return [...list];
}

/** Check a lock duration in milliseconds. */
export function validateDuration(duration: unknown, argument = "duration"): number {
  if (typeof duration !== "number" || !Number.isSafeInteger(duration) || duration <= 0) {
    throw new InvalidArgumentError(
      "INVALID_DURATION",
      argument,
      `expected a positive integer number of milliseconds, got ${typeName(duration)}.`,
    );
  }
  if (duration > MAX_DURATION) {
    throw new InvalidArgumentError(
      "INVALID_DURATION",
      argument,
      `${duration} ms is above the maximum of ${MAX_DURATION} ms; use a shorter lock and extend it.`,
    );
  }
  return duration;
}

type Check = (value: number) => string | undefined;

const nonNegative: Check = (v) =>
  Number.isFinite(v) && v >= 0 ? undefined : "a finite number ≥ 0";
const positive: Check = (v) => (Number.isFinite(v) && v > 0 ? undefined : "a finite number > 0");
const checks: Record<keyof Settings, Check> = {
  driftFactor: (v) => (Number.isFinite(v) && v >= 0 && v < 1 ? undefined : "a number in [0, 1)"),
  retryCount: (v) =>
    v === Number.POSITIVE_INFINITY || (Number.isSafeInteger(v) && v >= -1)
      ? undefined
      : "an integer ≥ 0, or -1 / Infinity to retry until aborted",
  retryDelay: nonNegative,
  retryJitter: nonNegative,
  automaticExtensionThreshold: nonNegative,
  nodeTimeout: positive,
};

const extraChecks: Record<string, Check> = {
  acquireTimeout: positive,
  maxHoldTime: positive,
  maxExtensions: (v) => (Number.isSafeInteger(v) && v >= 0 ? undefined : "an integer ≥ 0"),
};

/**
 * Check every known numeric setting present in `settings` (undefined means "use the default").
 * `argument` names the object in messages, e.g. `"settings"`.
 */
export function validateSettings(settings: unknown, argument = "settings"): void {
  if (settings === undefined) return;
  if (!isObject(settings)) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      argument,
      `expected an object, got ${typeName(settings)}.`,
    );
  }
  for (const [key, check] of Object.entries({ ...checks, ...extraChecks })) {
    const value = settings[key];
    if (value === undefined) continue;
    const problem = typeof value === "number" ? check(value) : "a number";
    if (problem) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        `${argument}.${key}`,
        `expected ${problem}, got ${typeName(value)}.`,
      );
    }
  }
  const signal = settings.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new InvalidArgumentError(
      "INVALID_SIGNAL",
      `${argument}.signal`,
      "expected an AbortSignal (for example `AbortSignal.timeout(5000)`).",
    );
  }
  for (const key of ["onLockLost"] as const) {
    if (settings[key] !== undefined && typeof settings[key] !== "function") {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        `${argument}.${key}`,
        "expected a function.",
      );
    }
  }
  if (settings.fencing !== undefined && typeof settings.fencing !== "boolean") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.fencing`,
      "expected true or false.",
    );
  }
  const guard = settings.restartGuard as Record<string, unknown> | undefined;
  if (guard !== undefined) {
    const period = guard?.period;
    if (
      !isObject(guard) ||
      typeof period !== "number" ||
      !Number.isSafeInteger(period) ||
      period <= 0 ||
      period > MAX_DURATION
    ) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        `${argument}.restartGuard`,
        "expected { period } with period a positive integer of milliseconds, at least your longest lock duration.",
      );
    }
    if (
      guard.markerKey !== undefined &&
      (typeof guard.markerKey !== "string" || guard.markerKey === "")
    ) {
      throw new InvalidArgumentError(
        "INVALID_SETTING",
        `${argument}.restartGuard.markerKey`,
        "expected a non-empty string.",
      );
    }
  }
  if (settings.keyPrefix !== undefined && typeof settings.keyPrefix !== "string") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.keyPrefix`,
      "expected a string.",
    );
  }
}

/** `using()` needs room between the extension threshold and the duration. */
export function validateThreshold(duration: number, threshold: number): void {
  if (threshold > duration - 100) {
    throw new InvalidArgumentError(
      "INVALID_THRESHOLD",
      "automaticExtensionThreshold",
      `${threshold} ms leaves less than 100 ms of a ${duration} ms lock before the first extension; ` +
        "use a longer duration or a smaller automaticExtensionThreshold.",
    );
  }
}

/** Check and de-duplicate the runners given to the constructor. */
export function validateRunners(runners: unknown): ScriptRunner[] {
  const iterable = runners as Partial<Iterable<unknown>> | null | undefined;
  if (!isObject(iterable) || typeof iterable[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "runners",
      `expected an array of script runners (one per Redis node), got ${typeName(runners)}.`,
    );
  }
  const list = [...new Set(iterable as Iterable<unknown>)];
  if (list.length === 0) {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "runners",
      "pass at least one runner (one per Redis node).",
    );
  }
  for (const [i, runner] of list.entries()) {
    if (!isObject(runner) || typeof runner.run !== "function") {
      throw new InvalidArgumentError(
        "INVALID_RUNNER",
        `runners[${i}]`,
        "expected a ScriptRunner with a run(script, keys, args) method; " +
          "wrap a Redis client with an adapter such as @redlock/ioredis.",
      );
    }
  }
  return list as ScriptRunner[];
}

/** Is `value` an AbortSignal (checked structurally, so signals from other realms work)? */
export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    isObject(value) &&
    typeof value.aborted === "boolean" &&
    typeof value.addEventListener === "function" &&
    typeof value.removeEventListener === "function"
  );
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string "${truncate(value)}"`;
  return typeof value;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Check that `lock` looks like a `Lock` (structurally, so copies across bundles work). */
export function validateLock(lock: unknown): asserts lock is Lock {
  const candidate = lock as Partial<Lock> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.value !== "string" ||
    !Array.isArray(candidate.resources) ||
    candidate.resources.length === 0 ||
    typeof candidate.remainingTime !== "function"
  ) {
    throw new InvalidArgumentError(
      "INVALID_LOCK",
      "lock",
      "expected a Lock returned by acquire() or extend().",
    );
  }
}
