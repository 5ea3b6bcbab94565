import { inspect } from "node:util";
import type { Redlock, ScriptRunner } from "@redlock/core";

/** What a lock value looks like (128 random bits as hex); a SHA-1 (40 hex characters) does not match. */
export const LOCK_VALUE = /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/i;

/**
 * `runner` recording the lock value (ARGV[1]) of every call in `sent`, which it keeps in a
 * closure: inspecting the runner (a key of `votesFor`/`votesAgainst`) cannot reveal them.
 */
export function recordingValues(runner: ScriptRunner, sent: Set<string>): ScriptRunner {
  return {
    name: runner.name,
    run(script, keys, args, options) {
      if (script.name !== "fence") sent.add(String(args[0]));
      return runner.run(script, keys, args, options);
    },
  };
}

/** The `error` events of `redlock`, as they come. */
export function errorEvents(redlock: Redlock): unknown[] {
  const events: unknown[] = [];
  redlock.on("error", (error) => events.push(error));
  return events;
}

/** What an operation hands back: the error it threw, and the statistics of all its attempts. */
export async function settledOutcome(
  operation: Promise<{ readonly attempts: ReadonlyArray<Promise<unknown>> }>,
): Promise<unknown[]> {
  try {
    return await Promise.all((await operation).attempts);
  } catch (error) {
    const attempts = (error as { attempts?: ReadonlyArray<Promise<unknown>> }).attempts ?? [];
    return [error, ...(await Promise.all(attempts))];
  }
}

/**
 * The secrets of `secrets`, and anything shaped like a lock value, that `values` show when
 * `util.inspect` prints them with hidden fields at any depth. Promises print as a placeholder:
 * {@link settledOutcome} collects their values, and their async-hook fields would drag in the
 * test runner's own state.
 */
export function leakedSecrets(values: readonly unknown[], secrets: Iterable<string>): string[] {
  const proto = Promise.prototype as unknown as Record<symbol, unknown>;
  proto[inspect.custom] = () => "[Promise]";
  let text: string;
  try {
    text = values
      .map((value) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }))
      .join("\n");
  } finally {
    delete proto[inspect.custom];
  }
  const leaks = [...secrets].filter((secret) => text.includes(secret));
  const shaped = text.match(new RegExp(LOCK_VALUE.source, "gi")) ?? [];
  return [...leaks, ...shaped];
}
