import { InvalidArgumentError, NodeUnreachableError } from "@redlock/core";
import {
  acknowledgedReplicas,
  createReleaseListeners,
  createScriptRunner,
  type DriverRunner,
  prefixKeepsSlot,
  type RunnerOptions,
  runnerSettings,
  waitCommand,
  watchConnection,
} from "@redlock/core/adapter";
import {
  EXPECTED_CLIENT,
  type IoredisClient,
  type IoredisSubscriber,
  isIoredisClient,
  keyPrefix,
  stringNumbers,
  toNumbers,
} from "./client";
import { clientName } from "./name";

/** Options of {@link createIoredisRunner}: `name` and reply `timeout` (see `RunnerOptions`). */
export type IoredisRunnerOptions = RunnerOptions;

/**
 * Turn an ioredis `Redis` or `Cluster` client into a core `ScriptRunner` (one Redlock node).
 *
 * Scripts run with `EVALSHA` and fall back to `EVAL` once when the node answers `NOSCRIPT`.
 * Every client failure rejects with a `NodeError` whose `cause` is a sanitized copy of the
 * client's error (without the command's arguments, which hold the lock value); no reply within
 * `timeout` rejects with a `NodeTimeoutError`. A closed client, or a refused connection, rejects
 * at once with a `NodeUnreachableError` that says so. On a `Cluster` client the script runs on
 * the node serving the first key's slot, so every key of one lock must share a hash slot.
 *
 * @param client a connected or connecting ioredis client
 * @param options name and reply timeout
 * @throws {InvalidArgumentError} `client` is not an ioredis client, or an option is invalid
 * @example
 * ```ts
 * const runner = createIoredisRunner(new Redis("redis://10.0.0.1:6379"), { timeout: 2000 });
 * const redlock = new Redlock([runner, clientB, clientC]);
 * ```
 */
export function createIoredisRunner(
  client: IoredisClient,
  options?: IoredisRunnerOptions,
): DriverRunner {
  if (!isIoredisClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", EXPECTED_CLIENT);
  }
  const settings = runnerSettings(options, () => clientName(client));
  const prefix = keyPrefix(client);
  const connection = watchConnection(client, settings.name, () => client.status === "ready");
  let disconnected = false;

  // Release announcements arrive on a second connection, opened when first needed.
  let subscriber: IoredisSubscriber | undefined;
  const releases = createReleaseListeners({
    subscribe: (channel) => (subscriber as IoredisSubscriber).subscribe(channel),
    unsubscribe: (channel) => (subscriber as IoredisSubscriber).unsubscribe(channel),
  });
  const onRelease = (key: string, listener: () => void) => {
    if (!subscriber) {
      // Its own options: it may subscribe before it is connected, whatever the client's.
      // (A Cluster's duplicate() takes startup nodes first; [] keeps the client's.)
      const options = { enableOfflineQueue: true, lazyConnect: false };
      const duplicate = client.duplicate as (...args: unknown[]) => IoredisSubscriber;
      subscriber = client.isCluster
        ? duplicate.call(client, [], options)
        : duplicate.call(client, options);
      subscriber.on("error", () => {});
      subscriber.on("message", (channel) => releases.dispatch(channel));
      // It lives as long as the client: closing the client lets the process exit.
      const own = subscriber;
      client.once?.("end", () => {
        own.disconnect();
        if (subscriber === own) subscriber = undefined;
      });
    }
    return releases.onRelease(prefix + key, listener);
  };

  return createScriptRunner({
    settings,
    connection,
    send: (command, script, keys, args) =>
      command === "EVALSHA"
        ? client.evalsha(script.sha1, keys.length, ...keys, ...args)
        : client.eval(script.source, keys.length, ...keys, ...args),
    ready: () => client.status === "ready" && !disconnected,
    // An ended client rejects every command ("Connection is closed.") and never reconnects by
    // itself; `cause` is the driver's error when the client ended under a command.
    unreachable: (cause) => {
      if (disconnected) return new NodeUnreachableError(settings.name, "client closed by quit()");
      if (client.status !== "end") return connection.failure;
      const message =
        "the client is closed: call client.connect() to reconnect it, or create a new client.";
      return (
        connection.failure ?? new NodeUnreachableError(settings.name, message, cause && { cause })
      );
    },
    ...(stringNumbers(client) ? { decode: toNumbers } : {}),
    ...(typeof client.duplicate === "function" ? { onRelease } : {}),
    ...(client.isCluster && !prefixKeepsSlot(prefix) ? { waitingLines: false } : {}),
    // On the scripts' connection; a Cluster routes WAIT to no particular node, so it has none.
    ...(typeof client.call === "function" && !client.isCluster
      ? {
          waitReplicas: (replicas: number, timeout: number, aof: boolean) => {
            const [command, ...args] = waitCommand(replicas, timeout, aof);
            return (client.call as NonNullable<IoredisClient["call"]>)(
              command as string,
              ...args,
            ).then((reply) => acknowledgedReplicas(reply, aof));
          },
        }
      : {}),
    async quit() {
      subscriber?.disconnect();
      subscriber = undefined;
      // While not connected, ioredis queues QUIT behind unsent commands and settles it only once
      // its reconnect attempts run out (a minute and more against a refusing node), or rejects it
      // and keeps reconnecting: close the connection outright instead. Such a client never
      // settles the commands it still has queued, nor any sent later.
      const connected = client.status === undefined || client.status === "ready";
      try {
        if (connected || typeof client.disconnect !== "function") {
          if (client.status !== "end") await client.quit();
          return;
        }
      } catch (error) {
        if (typeof client.disconnect !== "function") throw error;
      }
      if (client.status === "end") return;
      disconnected = true;
      (client.disconnect as () => void)();
    },
  });
}
