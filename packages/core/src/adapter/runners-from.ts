import { InvalidArgumentError } from "../errors";
import { Redlock } from "../redlock";
import type { ScriptRunner } from "../script-runner";
import type { ScriptOverrides } from "../scripts";
import type { RedlockOptions } from "../settings";

/** How an adapter recognises its driver's clients and turns one into a runner. */
export interface ClientKind<C> {
  /** Is `value` a client of this driver? (Checked structurally.) */
  isClient(value: unknown): value is C;
  /** Turn one client into a runner with default options. */
  createRunner(client: C): ScriptRunner;
  /** What to pass, for error messages, such as `"ioredis clients"`. */
  readonly plural: string;
  /** What one entry should be, for error messages. */
  readonly expected: string;
}

/**
 * The constructor argument of an adapter's `Redlock`: clients of the driver (or runners built
 * with options) to runners, duplicates removed. For adapter authors (`@redlock/core/adapter`).
 * @throws {InvalidArgumentError} `NO_RUNNERS` for anything but a non-empty list, `INVALID_RUNNER`
 *   naming the first entry that is neither a client nor a runner
 */
export function runnersFrom<C>(clients: unknown, kind: ClientKind<C>): ScriptRunner[] {
  const iterable = clients as Partial<Iterable<unknown>> | null | undefined;
  if (typeof iterable?.[Symbol.iterator] !== "function" || typeof clients === "string") {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "clients",
      `expected an array of ${kind.plural} (one per Redis node).`,
    );
  }
  const entries = [...(iterable as Iterable<unknown>)];
  if (entries.length === 0) {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "clients",
      `pass at least one of the ${kind.plural}.`,
    );
  }
  const seen = new Set<unknown>();
  const runners: ScriptRunner[] = [];
  entries.forEach((entry, i) => {
    if (seen.has(entry)) return; // the same client twice is still one node
    seen.add(entry);
    if (kind.isClient(entry)) runners.push(kind.createRunner(entry));
    else if (typeof (entry as Partial<ScriptRunner> | null)?.run === "function") {
      runners.push(entry as ScriptRunner);
    } else throw new InvalidArgumentError("INVALID_RUNNER", `clients[${i}]`, kind.expected);
  });
  return runners;
}

/** The constructor of an adapter's `Redlock`: driver clients (or runners) in place of runners. */
export type AdapterRedlock<E> = new (
  clients: readonly E[] | Iterable<E>,
  settings?: RedlockOptions,
  scripts?: ScriptOverrides,
) => Redlock;

/**
 * The `Redlock` class of an adapter package: core's `Redlock`, constructed from the driver's
 * clients, each made a runner with default options by `kind`, or from runners built with options
 * (duplicates removed). Name `E` as a type alias (`MyClient | ScriptRunner`), so that a compiler
 * error about a wrong client says what was expected. For adapter authors
 * (`@redlock/core/adapter`).
 * @example
 * ```ts
 * export type MyClientOrRunner = MyClient | ScriptRunner;
 * export class Redlock extends adapterRedlock<MyClientOrRunner>({
 *   isClient: isMyClient,
 *   createRunner: (client) => createMyRunner(client),
 *   plural: "my-driver clients",
 *   expected: "expected a client from my-driver.",
 * }) {}
 * ```
 */
export function adapterRedlock<E>(kind: ClientKind<Exclude<E, ScriptRunner>>): AdapterRedlock<E> {
  return class extends Redlock {
    constructor(
      // With the array type, a wrong entry of an array literal is reported on that entry.
      clients: readonly E[] | Iterable<E>,
      settings?: RedlockOptions,
      scripts?: ScriptOverrides,
    ) {
      super(runnersFrom(clients, kind), settings, scripts);
    }
  };
}
