import { InvalidArgumentError, NodeUnreachableError } from "@redlock/core";
import {
  acknowledgedReplicas,
  createScriptRunner,
  type DriverRunner,
  prefixKeepsSlot,
  type RunnerOptions,
  raceReply,
  runnerSettings,
  waitCommand,
  watchConnection,
} from "@redlock/core/adapter";
import {
  closeClient,
  isCluster,
  isNodeRedisClient,
  keyPrefixOf,
  type NodeRedisClient,
  type NodeRedisClientLike,
  type NodeRedisCommandOptions,
  nodeName,
  RAW_REPLIES,
  replyOptions,
  scriptCommand,
} from "./client";
import { releaseSubscriber } from "./subscriber";

/** Options of {@link createNodeRedisRunner}: `name` and reply `timeout` (see `RunnerOptions`). */
export type NodeRedisRunnerOptions = RunnerOptions;

/** A `ScriptRunner` backed by a node-redis client; `name` is always set. */
export type NodeRedisRunner = DriverRunner;

/**
 * Turn a connected node-redis client (`createClient()`) or cluster (`createCluster()`) of
 * redis 4, 5 or 6 into a {@link ScriptRunner}. Call `await client.connect()` yourself.
 *
 * A failed command rejects with a `NodeError` whose `cause` is a sanitized copy of the client's
 * error (without the command's arguments, which hold the lock value). A client that is not
 * connected, or whose connection is refused, rejects at once with a `NodeUnreachableError` that
 * says so; no reply within `timeout` rejects with a `NodeTimeoutError`.
 *
 * @param client the client; a cluster counts as one Redlock node, and the keys of one lock must
 *   share a hash slot there (use a hash tag: `{user:1}:a`, `{user:1}:b`)
 * @param options name and reply timeout
 * @throws {InvalidArgumentError} `client` is not a node-redis client or an option is invalid
 * @example
 * ```ts
 * const client = createClient({ url: "redis://10.0.0.1:6379" });
 * await client.connect();
 * const runner = createNodeRedisRunner(client, { timeout: 2000 });
 * ```
 */
export function createNodeRedisRunner(
  client: NodeRedisClientLike,
  options?: NodeRedisRunnerOptions,
): NodeRedisRunner {
  if (!isNodeRedisClient(client)) {
    throw new InvalidArgumentError(
      "INVALID_RUNNER",
      "client",
      "expected a node-redis client from createClient() or createCluster() (the redis package).",
    );
  }
  const settings = runnerSettings(options, () => nodeName(client));
  const { name, timeout } = settings;
  const prefix = keyPrefixOf(client) ?? "";
  if (typeof prefix !== "string") {
    throw new InvalidArgumentError(
      "INVALID_RUNNER",
      "client",
      "only a string keyPrefix is supported; use a string, or Redlock's keyPrefix setting.",
    );
  }
  const cluster = isCluster(client);
  const replies = replyOptions(client);
  // A cluster routes by the first key; the server rejects keys from different hash slots.
  const send = (args: string[], opts: NodeRedisCommandOptions | undefined) =>
    cluster ? client.sendCommand(args[3], false, args, opts) : client.sendCommand(args, opts);
  // redis 5 and 6 hand out `Object.create(client)`, whose listeners cannot all be removed safely:
  // removing the last one gives the wrapper an event table the client never emits on.
  const connection = watchConnection(client, name, () => client.isReady !== false, { keep: true });

  const releases = cluster ? undefined : releaseSubscriber(client as NodeRedisClient, prefix);

  return createScriptRunner({
    settings,
    connection,
    // Core's shared signal is not handed to the driver, which would add a listener per command
    // to a signal many requests share; a call that is raced gets a signal of its own.
    send: (verb, script, keys, args, call) =>
      send(
        scriptCommand(verb, verb === "EVAL" ? script.source : script.sha1, keys, args, prefix),
        call ? { abortSignal: call.signal, typeMapping: {} } : replies,
      ),
    ready: () => !cluster && client.isReady === true,
    // node-redis rejects commands on a client that is not open with "The client is closed",
    // whether it was closed or never connected; `cause` is the driver's error when it closed
    // under a command.
    unreachable: (cause) =>
      client.isOpen
        ? connection.failure
        : (connection.failure ??
          new NodeUnreachableError(
            name,
            "the client is not connected: call `await client.connect()` before using it, and again after closing it.",
            cause && { cause },
          )),
    ...(releases?.onRelease ? { onRelease: releases.onRelease } : {}),
    ...(cluster && !prefixKeepsSlot(prefix) ? { waitingLines: false } : {}),
    // On the scripts' connection; a cluster routes WAIT to no particular node, so it has none.
    ...(cluster
      ? {}
      : {
          waitReplicas: async (replicas: number, timeout: number, aof: boolean) =>
            acknowledgedReplicas(
              await client.sendCommand(waitCommand(replicas, timeout, aof), RAW_REPLIES),
              aof,
            ),
        }),
    async quit(settled) {
      await releases?.close();
      await settled();
      // Once PING answers, so has every command sent before it: a graceful close that can be cut
      // short, unlike a started quit() (redis 4) or close() (redis 5), which nothing can stop.
      const bounded = { name, timeout };
      if (client.isOpen && !cluster) {
        await raceReply(
          (call) => client.sendCommand(["PING"], { abortSignal: call.signal }),
          bounded,
        ).catch(() => {});
      }
      if (client.isOpen) await raceReply(async () => closeClient(client), bounded);
    },
  });
}
