import {
  Redlock as CoreRedlock,
  type RedlockOptions,
  type ScriptOverrides,
  type ScriptRunner,
} from "@redlock/core";
import { type ClientKind, runnersFrom } from "@redlock/core/adapter";
import { EXPECTED_CLIENT, type IoredisClient, isIoredisClient } from "./client";
import { createIoredisRunner } from "./runner";

/**
 * What `Redlock` from `@redlock/ioredis` takes for each node: an ioredis `Redis` or `Cluster`
 * client (ioredis 5 or 6), or a runner from `createIoredisRunner`. Named so that a compiler
 * error about a wrong client says what was expected.
 */
export type IoredisClientOrRunner = IoredisClient | ScriptRunner;

/**
 * Redlock over ioredis clients: each `Redis` or `Cluster` client is one node. The drop-in
 * replacement for node-redlock v5's `new Redlock(clients, settings, scripts)`.
 *
 * @example
 * ```ts
 * const redlock = new Redlock([new Redis(urlA), new Redis(urlB), new Redis(urlC)]);
 * await redlock.using(["report:daily"], 5000, async (signal) => { … });
 * ```
 */
export class Redlock extends CoreRedlock {
  /**
   * @param clients one ioredis client per independent Redis node (duplicates removed), each made
   *   a runner with default options; a runner from `createIoredisRunner(client, options)` may
   *   stand in for a client to set its name or reply timeout
   * @param settings default settings and instance options
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} no clients, an object that is not an ioredis client, or a bad
   *   setting
   */
  constructor(
    // With the array type, a wrong entry of an array literal is reported on that entry.
    clients: readonly IoredisClientOrRunner[] | Iterable<IoredisClientOrRunner>,
    settings?: RedlockOptions,
    scripts?: ScriptOverrides,
  ) {
    super(runnersFrom(clients, ioredis), settings, scripts);
  }
}

const ioredis: ClientKind<IoredisClient> = {
  isClient: isIoredisClient,
  createRunner: (client) => createIoredisRunner(client),
  plural: "ioredis clients",
  expected: EXPECTED_CLIENT,
};
