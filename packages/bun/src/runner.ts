import { InvalidArgumentError, NodeUnreachableError } from "@redlock/core";
import {
  acknowledgedReplicas,
  createScriptRunner,
  DEFAULT_RUNNER_TIMEOUT,
  type DriverRunner,
  type RunnerOptions,
  raceReply,
  runnerSettings,
  waitCommand,
} from "@redlock/core/adapter";
import {
  type BunRedisClient,
  decodeReply,
  EXPECTED_CLIENT,
  isBunRedisClient,
  isConnectionLost,
  scriptArgs,
} from "./client";
import { fallbackName, urlName } from "./name";
import { releaseSubscriber } from "./subscriber";

/** Options of {@link createBunRunner}: `name` and reply `timeout` (see `RunnerOptions`), and `url`. */
export interface BunRunnerOptions extends RunnerOptions {
  /**
   * The URL the client was created with, read only to name the node after its server
   * (`redis://host:port`, never credentials): Bun's `RedisClient` does not expose its address.
   * Ignored when `name` is set (but still checked).
   * @default none: the node is named `bun-redis#<n>`, one number per client
   */
  readonly url?: string;
}

/** A `ScriptRunner` backed by a Bun `RedisClient`; `name` is always set. */
export type BunRunner = DriverRunner;

/**
 * Turn a Bun `RedisClient` (`import { RedisClient } from "bun"`) into a core `ScriptRunner`
 * (one Redlock node). Runs under Bun only.
 *
 * Scripts run with `EVALSHA` and fall back to `EVAL` once when the node answers `NOSCRIPT`. A
 * failed command rejects with a `NodeError` whose `cause` is a sanitized copy of the client's
 * error (without the command's arguments, which hold the lock value); no reply within `timeout`
 * rejects with a `NodeTimeoutError`. A client whose connection is closed (by `close()`, or after
 * Bun gave up reconnecting) rejects with a `NodeUnreachableError` that says so. Release
 * announcements (`onRelease`) use a second connection from `client.duplicate()`, open only while
 * a channel is subscribed. `waitReplicas` (for `replicaSync`) sends `WAIT` or `WAITAOF` on the
 * client's connection. `quit()` waits for the replies still due, then closes the client.
 *
 * @param client the client; it connects on its first command, or call `await client.connect()`
 * @param options `url` (to name the node), name and reply timeout
 * @throws {InvalidArgumentError} `client` is not a Bun `RedisClient`, or an option is invalid
 * @example
 * ```ts
 * const url = "redis://10.0.0.1:6379";
 * const runner = createBunRunner(new RedisClient(url), { url, timeout: 2000 });
 * ```
 */
export function createBunRunner(client: BunRedisClient, options?: BunRunnerOptions): BunRunner {
  if (!isBunRedisClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", EXPECTED_CLIENT);
  }
  const url = (options as { url?: unknown } | undefined)?.url;
  const settings = runnerSettings(
    options,
    () => (url === undefined ? fallbackName(client) : urlName(url)),
    ["url"],
  );
  if (url !== undefined) urlName(url); // a bad URL is refused beside a name too
  const { name, timeout } = settings;
  const releases = releaseSubscriber(client);
  let quitted = false;
  /** Replies still due, which quit() waits for. */
  const sent = new Set<Promise<unknown>>();
  const track = (command: string, args: string[]) => {
    const reply = client.send(command, args);
    sent.add(reply);
    const forget = () => sent.delete(reply);
    reply.then(forget, forget);
    return reply;
  };

  return createScriptRunner({
    settings,
    send: (command, script, keys, args) =>
      track(command, scriptArgs(command === "EVAL" ? script.source : script.sha1, keys, args)),
    ready: () => client.connected,
    decode: decodeReply,
    // Bun rejects every command of a closed client ("Connection has failed") and reconnects it
    // only on connect(); so does a client that ran out of reconnection attempts (`maxRetries`).
    unreachable: (cause) => {
      if (quitted && !client.connected) {
        return new NodeUnreachableError(name, "client closed by quit()");
      }
      if (!cause || !isConnectionLost(cause)) return undefined;
      const message =
        `connection lost (${cause.message}). Bun reconnects by itself up to maxRetries times, ` +
        "but not after close(), idleTimeout or the last retry: then call client.connect().";
      return new NodeUnreachableError(name, message, { cause });
    },
    ...(releases.onRelease ? { onRelease: releases.onRelease } : {}),
    // The client's one connection, which the scripts use too: WAIT follows the script's reply.
    waitReplicas: async (replicas, timeout, aof) => {
      const [command, ...args] = waitCommand(replicas, timeout, aof);
      return acknowledgedReplicas(await track(command as string, args), aof);
    },
    async quit() {
      quitted = true;
      await releases.close();
      // close() rejects the commands still waiting for a reply, even those already written (an
      // EVAL after NOSCRIPT is sent late): while connected, wait for their replies (bounded).
      const bounded = Number.isFinite(timeout) ? timeout : DEFAULT_RUNNER_TIMEOUT;
      const replied = async () => {
        while (sent.size > 0 && client.connected) await Promise.allSettled(sent);
      };
      if (client.connected) await raceReply(replied, { name, timeout: bounded }).catch(() => {});
      client.close();
    },
  });
}
