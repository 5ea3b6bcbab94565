import {
  Redlock as CoreRedlock,
  type RedlockOptions,
  type ScriptOverrides,
  type ScriptRunner,
} from "@redlock/core";
import { type ClientKind, runnersFrom } from "@redlock/core/adapter";
import { CLIENT_HINT, isUpstashClient, type UpstashClient } from "./client";
import { createUpstashRunner } from "./runner";

/** What `Redlock` of this package takes for each database. */
export type UpstashClientOrRunner = UpstashClient | ScriptRunner;

/**
 * `Redlock` over `@upstash/redis` clients, one per independent Upstash (or REST-fronted Redis)
 * database. Each client becomes a runner from {@link createUpstashRunner} with default options;
 * a runner from `createUpstashRunner(client, options)` may stand in for a client to set its name,
 * reply timeout or `subscribe`.
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
   * @param clients one `@upstash/redis` client per independent database, or a runner in its
   *   place
   * @param settings default settings and instance options, as in `@redlock/core`
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} an entry is not an `@upstash/redis` client (`INVALID_RUNNER`),
   *   no clients (`NO_RUNNERS`), or a bad setting
   */
  constructor(
    // With the array type, a wrong entry of an array literal is reported on that entry.
    clients: readonly UpstashClientOrRunner[] | Iterable<UpstashClientOrRunner>,
    settings?: RedlockOptions,
    scripts?: ScriptOverrides,
  ) {
    super(runnersFrom(clients, upstash), settings, scripts);
  }
}

const upstash: ClientKind<UpstashClient> = {
  isClient: isUpstashClient,
  createRunner: (client) => createUpstashRunner(client),
  plural: "@upstash/redis clients",
  expected: CLIENT_HINT,
};
