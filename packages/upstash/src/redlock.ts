import type { ScriptRunner } from "@redlock/core";
import { adapterRedlock } from "@redlock/core/adapter";
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
export class Redlock extends adapterRedlock<UpstashClientOrRunner>({
  isClient: isUpstashClient,
  createRunner: (client) => createUpstashRunner(client),
  plural: "@upstash/redis clients",
  expected: CLIENT_HINT,
}) {}
