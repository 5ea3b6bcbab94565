import { InvalidArgumentError } from "./errors";
import type { Lock } from "./lock";
import type { ScriptRunner } from "./script-runner";
import { RESERVED_NAMESPACE } from "./scripts-guarded";
import { defaultSettings, type Settings } from "./settings";

/**
 * The longest duration (and delay setting) accepted: any safe integer number of milliseconds,
 * as in node-redlock v5 and Redis `PX`. Timers longer than the platform allows are split.
 */
export const MAX_DURATION = Number.MAX_SAFE_INTEGER;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** Normalize `resources` to a fresh array of unique, non-empty names. */
export function validateResources(resources: unknown, argument = "resources"): string[] {
  // Copy first: every element is read exactly once, so what is checked is what is sent.
  const list = typeof resources === "string" ? [resources] : copyArray(resources);
  if (!Array.isArray(list)) {
    throw new InvalidArgumentError(
      "INVALID_RESOURCES",
      argument,
      `expected a string or an array of strings, got ${typeName(resources)}.`,
    );
  }
  if (list.length === 0) {
    throw new InvalidArgumentError("NO_RESOURCES", argument, "pass at least one resource name.");
  }
  // Most calls lock one resource: no set to find duplicates in.
  const seen = list.length > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < list.length; i++) {
    const name: unknown = list[i];
    if (typeof name !== "string") {
      throw new InvalidArgumentError(
        "INVALID_RESOURCES",
        `${argument}[${i}]`,
        `expected a string, got ${typeName(name)}.`,
      );
    }
    if (name.length === 0) {
      throw new InvalidArgumentError(
        "EMPTY_RESOURCE",
        `${argument}[${i}]`,
        "a resource name cannot be empty.",
      );
    }
    if (name.includes(RESERVED_NAMESPACE)) {
      throw new InvalidArgumentError(
        "RESERVED_RESOURCE",
        `${argument}[${i}]`,
        `"${truncate(name)}" contains "${RESERVED_NAMESPACE}", the namespace of the keys this ` +
          "library keeps besides locks (fencing counters, the restart guard's marker); rename it.",
      );
    }
    if (seen?.has(name)) {
      throw new InvalidArgumentError(
        "DUPLICATE_RESOURCE",
        `${argument}[${i}]`,
        `"${truncate(name)}" appears more than once; list each resource once.`,
      );
    }
    seen?.add(name);
  }
  return list as string[];
}

/** A shallow copy of an array, or `undefined` when it is not one (or reading it throws). */
function copyArray(value: unknown): unknown[] | undefined {
  if (!Array.isArray(value)) return undefined;
  try {
    return Array.from(value as unknown[]);
  } catch {
    return undefined;
  }
}

/** The shortest lock duration accepted unless `minDuration` lowers it. */
export const DEFAULT_MIN_DURATION = 100;

/**
 * Check a lock duration in milliseconds: a positive safe integer, at least `minimum`. A duration
 * below the floor is almost always seconds passed as milliseconds, so the message says so.
 */
export function validateDuration(duration: unknown, minimum = 1, argument = "duration"): number {
  if (typeof duration !== "number" || !Number.isSafeInteger(duration) || duration <= 0) {
    throw new InvalidArgumentError(
      "INVALID_DURATION",
      argument,
      `expected a positive integer number of milliseconds, got ${typeName(duration)}.`,
    );
  }
  if (duration < minimum) {
    const hint =
      duration * 1000 >= minimum && Number.isSafeInteger(duration * 1000)
        ? ` Durations are milliseconds: did you mean ${duration * 1000}?`
        : "";
    throw new InvalidArgumentError(
      "INVALID_DURATION",
      argument,
      `${duration} ms is below the minimum of ${minimum} ms.${hint} ` +
        "(Tests may lower the minimum with the minDuration option.)",
    );
  }
  return duration;
}

type Check = (value: number) => string | undefined;

const nonNegative: Check = (v) =>
  Number.isFinite(v) && v >= 0 && v <= MAX_DURATION
    ? undefined
    : `a number of milliseconds from 0 to ${MAX_DURATION}`;
const positive: Check = (v) =>
  Number.isFinite(v) && v > 0 && v <= MAX_DURATION
    ? undefined
    : `a number of milliseconds above 0 and at most ${MAX_DURATION}`;
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
  minDuration: (v) => (Number.isSafeInteger(v) && v >= 1 ? undefined : "an integer ≥ 1"),
  acquireTimeout: positive,
  maxHoldTime: positive,
  maxExtensions: (v) => (Number.isSafeInteger(v) && v >= 0 ? undefined : "an integer ≥ 0"),
};

/** Every setting key any method reads. */
const SETTING_KEYS = [
  ...Object.keys(checks),
  ...Object.keys(extraChecks),
  "signal",
  "onLockLost",
  "fencing",
  "restartGuard",
  "replicaSync",
  "keyPrefix",
  "clock",
  "allowDuplicateNodeNames",
] as const;

/**
 * Read every known setting exactly once into a plain object and check it, so getters, proxies
 * and later mutation cannot change what was validated. `undefined` gives `{}`.
 * @throws {InvalidArgumentError} for a bad value, or when reading a setting throws
 */
export function readSettings<T extends object>(settings: T | undefined, argument = "settings"): T {
  if (settings === undefined) return {} as T;
  if (!isObject(settings)) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      argument,
      `expected an object, got ${typeName(settings)}.`,
    );
  }
  refuseUnknownKeys(settings, argument);
  const copy: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    let value: unknown;
    try {
      value = (settings as Record<string, unknown>)[key];
    } catch {
      throw new InvalidArgumentError("INVALID_SETTING", `${argument}.${key}`, "reading it threw.");
    }
    if (value !== undefined) copy[key] = value;
  }
  validateSettings(copy, argument);
  return copy as T;
}

const KNOWN = new Set<string>(SETTING_KEYS);

/** Names users reach for that mean one of ours. */
const ALIASES: Record<string, string> = {
  retries: "retryCount",
  retryAttempts: "retryCount",
  maxRetries: "retryCount",
  attempts: "retryCount",
  delay: "retryDelay",
  retryInterval: "retryDelay",
  jitter: "retryJitter",
  timeout: "acquireTimeout",
  waitTimeout: "acquireTimeout",
  lockTimeout: "acquireTimeout",
  prefix: "keyPrefix",
  drift: "driftFactor",
  extensionThreshold: "automaticExtensionThreshold",
};

/** Refuse a key no method reads, naming the closest known one. */
function refuseUnknownKeys(settings: object, argument: string): void {
  let keys: string[];
  try {
    keys = Object.keys(settings);
  } catch {
    throw new InvalidArgumentError("INVALID_SETTING", argument, "listing its keys threw.");
  }
  for (const key of keys) {
    if (KNOWN.has(key)) continue;
    const closest = ALIASES[key] ?? closestKey(key);
    throw new InvalidArgumentError(
      "UNKNOWN_SETTING",
      `${argument}.${truncate(key)}`,
      `there is no such setting${closest ? `; did you mean ${closest}?` : "."}`,
    );
  }
}

/** The known key within edit distance 3 of `key` (case-insensitive), if any. */
function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN) {
    const distance = editDistance(key.toLowerCase(), known.toLowerCase());
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * Check every known setting present in `settings` (undefined means "use the default").
 * `argument` names the object in messages, e.g. `"settings"`.
 */
function validateSettings(settings: Record<string, unknown>, argument: string): void {
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
  if (settings.restartGuard !== undefined) {
    let guard: Record<string, unknown> | undefined;
    try {
      const given = settings.restartGuard as Record<string, unknown>;
      guard = isObject(given) ? { period: given.period, markerKey: given.markerKey } : undefined;
    } catch {
      guard = undefined;
    }
    settings.restartGuard = guard;
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
  if (settings.replicaSync !== undefined)
    settings.replicaSync = readReplicaSync(settings, argument);
  const clock = settings.clock as Record<string, unknown> | undefined;
  const isClock = () => {
    try {
      return (
        isObject(clock) &&
        ["now", "wallNow", "setTimeout", "clearTimeout"].every(
          (m) => typeof clock[m] === "function",
        )
      );
    } catch {
      return false;
    }
  };
  if (clock !== undefined && !isClock()) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.clock`,
      "expected a Clock with now(), wallNow(), setTimeout() and clearTimeout().",
    );
  }
  if (settings.keyPrefix !== undefined && typeof settings.keyPrefix !== "string") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.keyPrefix`,
      "expected a string.",
    );
  }
}

/**
 * `using()` needs room between the extension threshold and the validity a fresh lock has
 * (`duration − drift`), or it would extend again as soon as an extension returns.
 */
export function validateThreshold(duration: number, threshold: number, driftMs: number): void {
  if (threshold > duration - driftMs - 100) {
    throw new InvalidArgumentError(
      "INVALID_THRESHOLD",
      "automaticExtensionThreshold",
      `${threshold} ms leaves less than 100 ms of a ${duration} ms lock (minus ${driftMs} ms of drift) ` +
        "before the first extension; use a longer duration or a smaller automaticExtensionThreshold.",
    );
  }
}

/** The runners given to the constructor, duplicates removed, and the name of each. */
export interface NamedRunners {
  readonly runners: ScriptRunner[];
  /** Each runner's `name`, or `node-<i>` when it has none. */
  readonly names: string[];
}

/**
 * Check and de-duplicate the runners given to the constructor, and read each name once. Two
 * runners with the same name are refused: names identify nodes, and one node counted twice
 * lets a single restart or flush hand a lock to a second holder. `allowDuplicateNames` (the
 * `allowDuplicateNodeNames` option) turns that check off for names that are not addresses.
 */
export function validateRunners(runners: unknown, allowDuplicateNames?: unknown): NamedRunners {
  const iterable = runners as Partial<Iterable<unknown>> | null | undefined;
  if (!isObject(iterable) || typeof iterable[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "runners",
      `expected an array of script runners (one per Redis node), got ${typeName(runners)}.`,
    );
  }
  if (allowDuplicateNames !== undefined && typeof allowDuplicateNames !== "boolean") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "settings.allowDuplicateNodeNames",
      "expected true or false.",
    );
  }
  const list: ScriptRunner[] = [];
  const names: string[] = [];
  const seen = new Set<unknown>();
  const byName = new Map<string, number>();
  // Positions are those of the iterable as given, duplicates included.
  for (const [at, runner] of Array.from(iterable as Iterable<unknown>).entries()) {
    if (seen.has(runner)) continue; // the same object twice is one node
    seen.add(runner);
    let run: unknown;
    try {
      run = isObject(runner) ? runner.run : undefined;
    } catch {
      run = undefined;
    }
    if (typeof run !== "function") {
      throw new InvalidArgumentError(
        "INVALID_RUNNER",
        `runners[${at}]`,
        "expected a ScriptRunner with a run(script, keys, args) method; " +
          "wrap a Redis client with an adapter such as @redlock/ioredis.",
      );
    }
    let name: unknown;
    try {
      name = (runner as ScriptRunner).name;
    } catch {
      throw new InvalidArgumentError(
        "INVALID_RUNNER",
        `runners[${at}].name`,
        "reading it threw; give the runner a string name, or none.",
      );
    }
    const label = typeof name === "string" && name !== "" ? name : undefined;
    const first = label === undefined ? undefined : byName.get(label);
    if (label !== undefined && first !== undefined && allowDuplicateNames !== true) {
      const shown = label.length > 200 ? `${label.slice(0, 200)}…` : label;
      throw new InvalidArgumentError(
        "DUPLICATE_NODE",
        `runners[${at}]`,
        `runners[${first}] and runners[${at}] both name the node "${shown}", so one server ` +
          "would get two votes and a single restart or flush could let a second holder in. " +
          "Pass each node once (a client and a runner made from it are the same node), or set " +
          "allowDuplicateNodeNames: true if these names are not addresses.",
      );
    }
    if (label !== undefined && first === undefined) byName.set(label, at);
    names.push(label ?? `node-${list.length}`);
    list.push(runner as ScriptRunner);
  }
  if (list.length === 0) {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "runners",
      "pass at least one runner (one per Redis node).",
    );
  }
  return { runners: list, names };
}

/** Is `value` an AbortSignal (checked structurally, so signals from other realms work)? */
export function isAbortSignal(value: unknown): value is AbortSignal {
  try {
    return (
      isObject(value) &&
      typeof value.aborted === "boolean" &&
      typeof value.addEventListener === "function" &&
      typeof value.removeEventListener === "function"
    );
  } catch {
    return false;
  }
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

/** What release and extend read from a lock, read once. */
export interface LockSnapshot {
  readonly resources: string[];
  readonly value: string;
}

/** Check that `lock` looks like a `Lock` (structurally, so copies across bundles work). */
export function validateLock(lock: unknown): LockSnapshot {
  const invalid = () =>
    new InvalidArgumentError(
      "INVALID_LOCK",
      "lock",
      "expected a Lock returned by acquire() or extend().",
    );
  let resources: unknown;
  let value: unknown;
  try {
    const candidate = lock as Partial<Lock> | null;
    if (typeof candidate !== "object" || candidate === null) throw invalid();
    if (typeof candidate.remainingTime !== "function") throw invalid();
    if (!Object.isExtensible(candidate)) {
      throw new InvalidArgumentError(
        "INVALID_LOCK",
        "lock",
        "the lock object is frozen, sealed or non-extensible; pass the Lock that acquire() or " +
          "extend() returned as it is (nothing was sent).",
      );
    }
    resources = candidate.resources;
    value = candidate.value;
  } catch (error) {
    throw error instanceof InvalidArgumentError ? error : invalid();
  }
  if (typeof value !== "string" || value === "") throw invalid();
  try {
    return { resources: validateResources(resources, "lock.resources"), value };
  } catch (error) {
    const detail = error instanceof InvalidArgumentError ? error.message : "unreadable";
    throw new InvalidArgumentError(
      "INVALID_LOCK",
      "lock.resources",
      `not a Lock's resources (${detail}).`,
    );
  }
}

/** A lock value given back by a user (to adopt or inspect a lock): a non-empty string. */
export function validateValue(value: unknown, argument = "value"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 1024) {
    throw new InvalidArgumentError(
      "INVALID_VALUE",
      argument,
      `expected a lock's value (the string in lock.value), got ${typeName(value)}.`,
    );
  }
  return value;
}

/** Check the `replicaSync` option: whole replicas from 1, a timeout below `nodeTimeout`. */
function readReplicaSync(settings: Record<string, unknown>, argument: string): object {
  let sync: Record<string, unknown> | undefined;
  try {
    const given = settings.replicaSync as Record<string, unknown>;
    sync = isObject(given)
      ? { replicas: given.replicas, timeout: given.timeout, aof: given.aof ?? false }
      : undefined;
  } catch {
    sync = undefined;
  }
  const nodeTimeout = (settings.nodeTimeout as number | undefined) ?? defaultSettings.nodeTimeout;
  const { replicas, timeout, aof } = sync ?? {};
  const whole = (v: unknown, min: number) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= min;
  if (!sync || !whole(replicas, 1) || !whole(timeout, 1) || typeof aof !== "boolean") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.replicaSync`,
      "expected { replicas, timeout, aof? }: replicas a whole number from 1, timeout in whole milliseconds, aof true or false.",
    );
  }
  if ((timeout as number) >= nodeTimeout) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      `${argument}.replicaSync.timeout`,
      `expected less than nodeTimeout (${nodeTimeout} ms): the wait for replicas happens within each node's reply time.`,
    );
  }
  return sync;
}
