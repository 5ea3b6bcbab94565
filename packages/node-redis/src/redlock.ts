import type { ScriptRunner } from "@redlock/core";
import { adapterRedlock } from "@redlock/core/adapter";
import { isNodeRedisClient, type NodeRedisClientLike } from "./client";
import { createNodeRedisRunner } from "./runner";

/**
 * What `Redlock` from `@redlock/node-redis` takes for each node: a node-redis client from
 * `createClient()` or `createCluster()` (redis 4, 5 or 6), or a runner from
 * `createNodeRedisRunner`. Named so that a compiler error about a wrong client says what was
 * expected.
 */
export type NodeRedisClientOrRunner = NodeRedisClientLike | ScriptRunner;

/**
 * `Redlock` from `@redlock/core` taking node-redis clients: each client or cluster (connected
 * with `await client.connect()`) is one independent node. Runners from
 * {@link createNodeRedisRunner} are accepted as they are, for per-node options.
 *
 * @example
 * ```ts
 * const clients = urls.map((url) => createClient({ url }));
 * await Promise.all(clients.map((client) => client.connect()));
 * const redlock = new Redlock(clients);
 * ```
 */
export class Redlock extends adapterRedlock<NodeRedisClientOrRunner>({
  isClient: isNodeRedisClient,
  createRunner: (client) => createNodeRedisRunner(client),
  plural: "node-redis clients",
  expected:
    "expected a node-redis client from createClient() or createCluster(), connected with " +
    "await client.connect().",
}) {}
