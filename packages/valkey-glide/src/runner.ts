import { InvalidArgumentError, NodeUnreachableError } from "@redlock/core";
import {
  acknowledgedReplicas,
  createScriptRunner,
  type DriverRunner,
  type RunnerOptions,
  raceReply,
  runnerSettings,
  waitCommand,
} from "@redlock/core/adapter";
import {
  clientName,
  decodeReply,
  EXPECTED_CLIENT,
  type GlideClientLike,
  isClusterClient,
  isGlideClient,
  QUIT_MESSAGE,
  requestTimeout,
  scriptArgs,
} from "./client";
import { releaseSubscriber } from "./subscriber";

/** Options of {@link createValkeyGlideRunner}: `name` and reply `timeout` (see `RunnerOptions`). */
export type ValkeyGlideRunnerOptions = RunnerOptions;

/** A `ScriptRunner` backed by a Valkey GLIDE client; `name` is always set. */
export type ValkeyGlideRunner = DriverRunner;

/** Sent on a cluster client by `quit()`: one `PING` to every primary. */
const ALL_PRIMARIES = Object.freeze({ route: "allPrimaries" });

const CLOSED =
  "the client is closed, and a GLIDE client never reopens: create a new one with createClient().";

/** `error` with `why` added to its message when it is GLIDE's `TimeoutError` ("timed out"). */
function explained(error: Error, why: string): Error {
  if (error?.name !== "TimeoutError") return error;
  const message = `${error.message}: ${why}`;
  error.stack = error.stack?.replace(error.message, message);
  error.message = message;
  return error;
}

/**
 * Turn a Valkey GLIDE `GlideClient` or `GlideClusterClient` (`@valkey/valkey-glide` 2.x) into a
 * core `ScriptRunner` (one Redlock node).
 *
 * Scripts run with `EVALSHA` and fall back to `EVAL` once when the node answers `NOSCRIPT`. On a
 * `GlideClusterClient` each call is routed to the primary serving the first key's slot, so every
 * key of one lock must share a hash slot (use a hash tag: `{user:1}:a`, `{user:1}:b`). Every
 * client failure rejects with a `NodeError` whose `cause` is a sanitized copy of GLIDE's error
 * (without the command's arguments, which hold the lock value); a closed client rejects at once
 * with a `NodeUnreachableError`; no reply within `timeout` rejects with a `NodeTimeoutError`.
 * GLIDE bounds every command by the client's own `requestTimeout` too (250 ms unless set): set it
 * above Redlock's `nodeTimeout`, or a slow node fails with GLIDE's `TimeoutError` first.
 *
 * With GLIDE 2.3 or later the runner has `onRelease`: a second client of the same configuration,
 * opened while someone waits for a release, subscribes to the release announcements. A
 * `GlideClient`'s runner has `waitReplicas` (for `replicaSync`); a `GlideClusterClient`'s has not.
 *
 * @param client a client from `await GlideClient.createClient(…)` or
 *   `await GlideClusterClient.createClient(…)`; `quit()` closes it
 * @param options name and reply timeout
 * @throws {InvalidArgumentError} `client` is not a GLIDE client, or an option is invalid
 * @example
 * ```ts
 * const client = await GlideClient.createClient({
 *   addresses: [{ host: "10.0.0.1", port: 6379 }],
 *   requestTimeout: 2000,
 * });
 * const runner = createValkeyGlideRunner(client, { timeout: 2000 });
 * ```
 */
export function createValkeyGlideRunner(
  client: GlideClientLike,
  options?: ValkeyGlideRunnerOptions,
): ValkeyGlideRunner {
  if (!isGlideClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", EXPECTED_CLIENT);
  }
  const cluster = isClusterClient(client);
  const settings = runnerSettings(options, () => clientName(client, cluster));
  const { name, timeout } = settings;
  const slow = `no reply within the client's requestTimeout (${requestTimeout(client)} ms)`;
  const releases = releaseSubscriber(
    client,
    name,
    timeout === Number.POSITIVE_INFINITY ? 0 : timeout,
  );
  let quitting = false;

  return createScriptRunner({
    settings,
    // A cluster client routes by the first key; the server refuses keys from other slots.
    send: (command, script, keys, args) =>
      client.customCommand(
        scriptArgs(command, script, keys, args),
        cluster && keys.length > 0
          ? { route: { type: "primarySlotKey", key: keys[0] } }
          : undefined,
      ),
    // GLIDE has no connection state to read: it reconnects by itself, and bounds every command
    // by its `requestTimeout` meanwhile.
    ready: () => !quitting,
    // A closed client rejects every command with a `ClosingError`, sending nothing. `cause` is
    // GLIDE's error when a call failed; without one, the runner is asked before a call.
    unreachable: (cause) => {
      if (cause === undefined ? !quitting : cause.name !== "ClosingError") return undefined;
      return new NodeUnreachableError(name, quitting ? QUIT_MESSAGE : CLOSED, cause && { cause });
    },
    decode: decodeReply,
    // GLIDE says only "timed out" when its own `requestTimeout` passes.
    clean: (error) => explained(error, slow),
    ...(releases ? { onRelease: releases.onRelease } : {}),
    // Sent like the scripts, on the one connection GLIDE keeps to the primary: WAIT follows the
    // script's reply there, so it waits for that write. A cluster client has no such connection.
    ...(cluster
      ? {}
      : {
          waitReplicas: (replicas: number, wait: number, aof: boolean) =>
            client.customCommand(waitCommand(replicas, wait, aof)).then(
              (reply) => acknowledgedReplicas(reply, aof),
              (error: Error) => {
                // GLIDE bounds WAIT by its timeout + 500 ms from when it is sent; the server serves
                // one connection's WAITs one after another, so one may wait behind others.
                const why = `no reply within ${wait + 500} ms (WAIT's ${wait} and GLIDE's 500)`;
                throw explained(error, `${why}; one connection's WAITs run in turn`);
              },
            ),
        }),
    async quit(settled) {
      quitting = true;
      releases?.close();
      await settled();
      // Once PING answers, so has every command sent before it: a graceful close, bounded by
      // `timeout`. `close()` would reject the replies still on their way.
      await raceReply(() => client.customCommand(["PING"], cluster ? ALL_PRIMARIES : undefined), {
        name,
        timeout,
      }).catch(() => {});
      client.close();
    },
  });
}
