import type { ScriptRunner } from "@redlock/core";
import { adapterRedlock } from "@redlock/core/adapter";
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
export class Redlock extends adapterRedlock<IoredisClientOrRunner>({
  isClient: isIoredisClient,
  createRunner: (client) => createIoredisRunner(client),
  plural: "ioredis clients",
  expected: EXPECTED_CLIENT,
}) {}
