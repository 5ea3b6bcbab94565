import { InvalidArgumentError } from "../errors";
import { MAX_TIMER_DELAY } from "../internal/timers";

/** The options every runner factory takes (adapters add their own next to these). */
export interface RunnerOptions {
  /**
   * The node's name in errors and events.
   * @default derived by the adapter from the client's address
   */
  readonly name?: string;
  /**
   * Milliseconds to wait for a reply before rejecting with `NodeTimeoutError`; `Infinity` waits
   * for as long as core does (its `nodeTimeout`).
   * @default 5000
   */
  readonly timeout?: number;
}

/** {@link RunnerOptions} checked and resolved by {@link runnerSettings}. */
export interface RunnerSettings {
  readonly name: string;
  /** Milliseconds, or `Infinity`. */
  readonly timeout: number;
  /**
   * Whether the user set `timeout`: the runner then keeps its own timer even when core bounds the
   * call with its signal.
   */
  readonly explicitTimeout: boolean;
}

/** Default reply timeout of a runner, in milliseconds. */
export const DEFAULT_RUNNER_TIMEOUT = 5000;

/**
 * Check a runner factory's options with one rule set and resolve the defaults. For adapter
 * authors (`@redlock/core/adapter`).
 *
 * - `name`: a non-empty string; `defaultName()` is called only when it is absent.
 * - `timeout`: a whole number of milliseconds from 1 to 2^31−1 (what timers can wait), or
 *   `Infinity`; default 5000.
 * - Any other key is refused (`UNKNOWN_SETTING`, naming the closest known key) unless listed in
 *   `ownKeys`, the adapter's own options, which the adapter checks itself.
 *
 * @throws {InvalidArgumentError} before anything is sent, saying what to fix
 * @example
 * ```ts
 * const { name, timeout } = runnerSettings(options, () => `redis://${host}:${port}`);
 * ```
 */
export function runnerSettings(
  options: unknown,
  defaultName: () => string,
  ownKeys: readonly string[] = [],
): RunnerSettings {
  if (options === undefined) {
    return {
      name: checkName(defaultName()),
      timeout: DEFAULT_RUNNER_TIMEOUT,
      explicitTimeout: false,
    };
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError("INVALID_SETTING", "options", "expected an object.");
  }
  const known = ["name", "timeout", ...ownKeys];
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = known.find((candidate) => similar(key, candidate));
    throw new InvalidArgumentError(
      "UNKNOWN_SETTING",
      `options.${key.slice(0, 40)}`,
      `runners take ${known.join(", ")}${closest ? `; did you mean ${closest}?` : "."}`,
    );
  }
  const { name, timeout } = options as RunnerOptions;
  if (timeout !== undefined && !validTimeout(timeout)) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.timeout",
      `expected a whole number of milliseconds from 1 to ${MAX_TIMER_DELAY}, or Infinity; got ${String(timeout)}.`,
    );
  }
  return {
    name: checkName(name === undefined ? defaultName() : name),
    timeout: timeout ?? DEFAULT_RUNNER_TIMEOUT,
    explicitTimeout: timeout !== undefined,
  };
}

function validTimeout(timeout: unknown): timeout is number {
  return (
    typeof timeout === "number" &&
    (timeout === Number.POSITIVE_INFINITY ||
      (Number.isInteger(timeout) && timeout > 0 && timeout <= MAX_TIMER_DELAY))
  );
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.name",
      "expected a non-empty string, such as the node's address without credentials.",
    );
  }
  return name;
}

/** Same letters in another case, or one letter added, dropped or changed. */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  if (Math.abs(x.length - y.length) > 1) return false;
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  return (
    x.slice(i + 1) === y.slice(i + 1) ||
    x.slice(i) === y.slice(i + 1) ||
    x.slice(i + 1) === y.slice(i)
  );
}
