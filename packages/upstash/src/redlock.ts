import {
  Redlock as CoreRedlock,
  InvalidArgumentError,
  type RedlockOptions,
  type ScriptOverrides,
  type ScriptRunner,
} from "@redlock/core";
import { CLIENT_HINT, createUpstashRunner, isUpstashClient, type UpstashClient } from "./runner";

/**
 * `Redlock` over `@upstash/redis` clients, one per independent Upstash (or REST-fronted Redis)
 * database. Each client becomes a runner from {@link createUpstashRunner} with default options;
 * build runners yourself and pass them to `Redlock` from `@redlock/core` to set a name or a
 * timeout.
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { Redlock } from "@redlock/upstash";
 *
 * const redlock = new Redlock([new Redis({ url, token })]);
 * const lock = await redlock.acquire(["invoice:42"], 5000);
 * ```
 */
export class Redlock extends CoreRedlock {
  /**
   * @param clients one `@upstash/redis` client per independent database
   * @param settings default settings and instance options, as in `@redlock/core`
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} an entry is not an `@upstash/redis` client (`INVALID_RUNNER`),
   *   no clients (`NO_RUNNERS`), or a bad setting
   */
  constructor(
    clients: Iterable<UpstashClient>,
    settings?: RedlockOptions,
    scripts?: ScriptOverrides,
  ) {
    super(toRunners(clients), settings, scripts);
  }
}

function toRunners(clients: Iterable<UpstashClient>): ScriptRunner[] {
  const iterable = clients as Partial<Iterable<unknown>> | null | undefined;
  if (typeof iterable?.[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError(
      "NO_RUNNERS",
      "clients",
      "expected an array of @upstash/redis clients, one per database.",
    );
  }
  const list = [...(iterable as Iterable<unknown>)];
  for (const [i, client] of list.entries()) {
    if (!isUpstashClient(client)) {
      throw new InvalidArgumentError("INVALID_RUNNER", `clients[${i}]`, CLIENT_HINT);
    }
  }
  // One runner per distinct client: the same client twice is still one node.
  return [...new Set(list as UpstashClient[])].map((client) => createUpstashRunner(client));
}
