import type { ScriptRunner } from "@redlock/core";
import { adapterRedlock } from "@redlock/core/adapter";
import { type BunRedisClient, EXPECTED_CLIENT, isBunRedisClient } from "./client";
import { createBunRunner } from "./runner";

/**
 * What `Redlock` from `@redlock/bun` takes for each node: a Bun `RedisClient`, or a runner from
 * `createBunRunner`. Named so that a compiler error about a wrong client says what was expected.
 */
export type BunClientOrRunner = BunRedisClient | ScriptRunner;

/**
 * `Redlock` from `@redlock/core` taking Bun `RedisClient`s: each client is one independent node.
 * A client given as it is gets the name `bun-redis#<n>` (Bun's client does not expose its
 * address); pass `createBunRunner(client, { url })` instead to name the node after its server,
 * which also lets core refuse one server counted twice.
 *
 * @example
 * ```ts
 * const redlock = new Redlock(
 *   urls.map((url) => createBunRunner(new RedisClient(url), { url })),
 * );
 * await redlock.using(["report:daily"], 5000, async (signal) => { … });
 * ```
 */
export class Redlock extends adapterRedlock<BunClientOrRunner>({
  isClient: isBunRedisClient,
  createRunner: (client) => createBunRunner(client),
  plural: "Bun RedisClients",
  expected: EXPECTED_CLIENT,
}) {}
