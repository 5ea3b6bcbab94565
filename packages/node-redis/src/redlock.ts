import {
  Redlock as CoreRedlock,
  type RedlockOptions,
  type ScriptOverrides,
  type ScriptRunner,
} from "@redlock/core";
import { type ClientKind, runnersFrom } from "@redlock/core/adapter";
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
export class Redlock extends CoreRedlock {
  /**
   * @param clients one connected client, cluster or runner per independent Redis node
   * @param settings default settings and instance options
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} an entry is not a node-redis client or runner, or as core's
   *   constructor does
   */
  constructor(
    // With the array type, a wrong entry of an array literal is reported on that entry.
    clients: readonly NodeRedisClientOrRunner[] | Iterable<NodeRedisClientOrRunner>,
    settings?: RedlockOptions,
    scripts?: ScriptOverrides,
  ) {
    super(runnersFrom(clients, nodeRedis), settings, scripts);
  }
}

const nodeRedis: ClientKind<NodeRedisClientLike> = {
  isClient: isNodeRedisClient,
  createRunner: (client) => createNodeRedisRunner(client),
  plural: "node-redis clients",
  expected:
    "expected a node-redis client from createClient() or createCluster(), connected with " +
    "await client.connect().",
};
