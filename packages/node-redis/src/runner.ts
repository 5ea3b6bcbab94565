import {
  InvalidArgumentError,
  type LockScript,
  NodeError,
  NodeTimeoutError,
  NodeUnreachableError,
  type RunOptions,
  type ScriptRunner,
} from "@redlock/core";
import {
  type ConnectionWatch,
  createReleaseListeners,
  sanitizeError,
  watchConnection,
} from "@redlock/core/adapter";
import {
  isCluster,
  isNodeRedisClient,
  keyPrefixOf,
  type NodeRedisClient,
  type NodeRedisClientLike,
  type NodeRedisCommandOptions,
  type NodeRedisSubscriber,
  nodeName,
} from "./client";

/** Options of {@link createNodeRedisRunner}. */
export interface NodeRedisRunnerOptions {
  /**
   * The node's name in errors and events.
   * @default derived from the connection options, e.g. `"redis://127.0.0.1:6379"` (never credentials)
   */
  name?: string;
  /**
   * Milliseconds to wait for a script's reply (EVALSHA and a NOSCRIPT retry together) before
   * rejecting with `NodeTimeoutError`; also how long `quit()` waits for the replies to commands
   * already sent before it closes the connection.
   * @default 5000
   */
  timeout?: number;
}

/** A {@link ScriptRunner} backed by a node-redis client; `name` is always set. */
export interface NodeRedisRunner extends ScriptRunner {
  readonly name: string;
  quit(): Promise<void>;
}

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
  options: NodeRedisRunnerOptions = {},
): NodeRedisRunner {
  if (!isNodeRedisClient(client)) {
    throw new InvalidArgumentError(
      "INVALID_RUNNER",
      "client",
      "expected a node-redis client from createClient() or createCluster() (the redis package).",
    );
  }
  const { name = nodeName(client), timeout = 5000 } = options;
  const explicitTimeout = options.timeout !== undefined;
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.name",
      "expected a non-empty string.",
    );
  }
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.timeout",
      "expected a positive number of milliseconds.",
    );
  }
  const prefix = keyPrefixOf(client) ?? "";
  if (typeof prefix !== "string") {
    throw new InvalidArgumentError(
      "INVALID_RUNNER",
      "client",
      "only a string keyPrefix is supported; use a string, or Redlock's keyPrefix setting.",
    );
  }
  // A cluster routes by the first key; the server rejects keys from different hash slots.
  const send = isCluster(client)
    ? (args: string[], firstKey: string | undefined, opts: NodeRedisCommandOptions) =>
        client.sendCommand(firstKey, false, args, opts)
    : (args: string[], _: string | undefined, opts: NodeRedisCommandOptions) =>
        client.sendCommand(args, opts);

  const cluster = isCluster(client);
  const inFlight = new Set<Promise<unknown>>();
  // redis 5 and 6 hand out `Object.create(client)`, whose listeners cannot all be removed safely:
  // removing the last one gives the wrapper an event table the client never emits on.
  const connection = watchConnection(client, name, () => client.isReady !== false, { keep: true });
  // node-redis rejects commands on a client that is not open with "The client is closed",
  // whether it was closed or never connected; `cause` is the driver's error when it closed under
  // a command.
  const unreachable = (cause?: Error) =>
    client.isOpen
      ? connection.failure
      : (connection.failure ??
        new NodeUnreachableError(
          name,
          "the client is not connected: call `await client.connect()` before using it, and again after closing it.",
          cause && { cause },
        ));

  // Release announcements arrive on a second connection, opened when first needed (standalone
  // clients only; cluster waiters keep their retry schedule).
  let subscriber: Promise<NodeRedisSubscriber> | undefined;
  const connectSubscriber = (): Promise<NodeRedisSubscriber> => {
    if (!subscriber) {
      const duplicate = (client as NodeRedisClient).duplicate?.() as NodeRedisSubscriber;
      duplicate.on("error", () => {});
      const own = duplicate.connect().then(() => duplicate);
      subscriber = own;
      // It lives as long as the client: closing the client lets the process exit.
      (client as { once?: (event: "end", listener: () => void) => unknown }).once?.("end", () => {
        if (subscriber === own) subscriber = undefined;
        void own.then((sub) => (sub.destroy ? sub.destroy() : sub.disconnect?.())).catch(() => {});
      });
    }
    return subscriber;
  };
  const releases = createReleaseListeners({
    subscribe: async (channel) =>
      (await connectSubscriber()).subscribe(channel, () => releases.dispatch(channel)),
    unsubscribe: async (channel) => (await connectSubscriber()).unsubscribe(channel),
  });
  const canListen =
    !isCluster(client) && typeof (client as NodeRedisClient).duplicate === "function";

  return {
    name,
    ...(canListen
      ? {
          onRelease: (key: string, listener: () => void) =>
            releases.onRelease(prefix + key, listener),
        }
      : {}),
    run(
      script: LockScript,
      keys: readonly string[],
      args: readonly (string | number)[],
      run?: RunOptions,
    ) {
      const failure = unreachable();
      if (failure) return Promise.reject(failure);
      const failed = (error: unknown) => {
        const cause = sanitizeError(error, args);
        return unreachable(cause) ?? new NodeError(name, cause.message, { cause });
      };
      if (run?.enforced && !explicitTimeout && client.isReady === true && !cluster) {
        // The common case: connected, and bounded by core's deadline. The command is written
        // now, so nothing is tracked per call: no timer, no abort listener, no extra promise.
        // A connection lost under it is reported when it is next used; core stops waiting at
        // its deadline. `quit()` waits for these through its PING.
        return send(
          command("EVALSHA", script.sha1, keys, args, prefix),
          undefined,
          RAW_REPLIES,
        ).then(undefined, (error: unknown) => {
          if (!messageOf(error).toUpperCase().includes("NOSCRIPT") || run.signal?.aborted) {
            throw failed(error);
          }
          return send(
            command("EVAL", script.source, keys, args, prefix),
            undefined,
            RAW_REPLIES,
          ).then(undefined, (second: unknown) => {
            throw failed(second);
          });
        });
      }
      const call = { outer: run?.signal, ownTimer: explicitTimeout, connection, failed };
      const reply = withDeadline(name, timeout, call, async (signal) => {
        const prefixed = prefix ? keys.map((key) => prefix + key) : keys;
        const opts = { abortSignal: signal, typeMapping: {} };
        try {
          return await send(command("EVALSHA", script.sha1, keys, args, prefix), prefixed[0], opts);
        } catch (error) {
          if (!messageOf(error).toUpperCase().includes("NOSCRIPT")) throw error;
          return await send(command("EVAL", script.source, keys, args, prefix), prefixed[0], opts);
        }
      });
      inFlight.add(reply);
      const forget = () => inFlight.delete(reply);
      reply.then(forget, forget);
      return reply;
    },
    async quit() {
      const listening = subscriber;
      subscriber = undefined;
      if (listening) {
        await listening.then(
          (sub) => (sub.destroy ? sub.destroy() : sub.disconnect?.()),
          () => {},
        );
      }
      await Promise.allSettled(inFlight);
      if (!client.isOpen) return;
      // Once PING answers, so has every command sent before it: a graceful close that can be cut
      // short, unlike a started quit() (redis 4) or close() (redis 5), which nothing can stop.
      if (!isCluster(client)) {
        await withDeadline(name, timeout, { ownTimer: true }, async (abortSignal) =>
          client.sendCommand(["PING"], { abortSignal }),
        ).catch(() => {});
      }
      if (!client.isOpen) return;
      await withDeadline(name, timeout, { ownTimer: true }, async () =>
        client.destroy ? client.destroy() : client.disconnect?.(),
      );
    },
  };
}

/** Command options that keep replies as the server sent them (no RESP3 type mapping). */
const RAW_REPLIES: NodeRedisCommandOptions = Object.freeze({ typeMapping: {} });

/** `EVALSHA sha1` or `EVAL source`, then `numkeys`, the keys (with the client's prefix) and the arguments, as strings. */
function command(
  verb: "EVALSHA" | "EVAL",
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
  prefix: string,
): string[] {
  const out = new Array<string>(3 + keys.length + args.length);
  out[0] = verb;
  out[1] = script;
  out[2] = String(keys.length);
  for (let i = 0; i < keys.length; i++) out[3 + i] = prefix + keys[i];
  for (let i = 0; i < args.length; i++) out[3 + keys.length + i] = String(args[i]);
  return out;
}

/** How {@link withDeadline} bounds one call. */
interface CallOptions {
  /** Core's signal: stop waiting when it aborts. */
  readonly outer?: AbortSignal | undefined;
  /** Run the runner's own timer even when `outer` is given. */
  readonly ownTimer: boolean;
  /** Fails the call at once when the connection is refused meanwhile. */
  readonly connection?: ConnectionWatch;
  /** The call's error for what the client threw; by default a `NodeError` with a sanitized cause. */
  readonly failed?: (error: unknown) => NodeError;
}

/**
 * Run `work`, rejecting with `NodeTimeoutError` after `timeout` ms or when `outer` aborts.
 * node-redis's own command timeout and abort signal stop only commands not yet written, so a
 * reply that never comes would otherwise be awaited until the connection closes.
 */
function withDeadline<T>(
  name: string,
  timeout: number,
  { outer, ownTimer, connection, failed }: CallOptions,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (outer?.aborted) return Promise.reject(abortedError(name, outer));
  return new Promise<T>((resolve, reject) => {
    // Core bounds every call with its own signal, which then also cancels unsent commands; the
    // runner's own timer and controller are for calls made without one, or an explicit timeout.
    const mine = !outer || ownTimer;
    const controller = mine ? new AbortController() : undefined;
    const settle = () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
      untrack();
    };
    const stop = (error: NodeError) => {
      settle();
      reject(error);
      controller?.abort(error);
    };
    const onAbort = () => stop(abortedError(name, outer!));
    const timer = mine
      ? setTimeout(() => stop(new NodeTimeoutError(name, timeout)), timeout)
      : undefined;
    outer?.addEventListener("abort", onAbort, { once: true });
    const untrack = connection?.track(stop) ?? (() => {});
    // Core's shared signal is listened to once here, not handed to the driver, which would add a
    // listener per command to a signal many requests share.
    work(controller?.signal).then(
      (reply) => {
        settle();
        resolve(reply);
      },
      (error: unknown) => {
        settle();
        if (failed) return reject(failed(error));
        const cause = sanitizeError(error);
        reject(new NodeError(name, cause.message, { cause }));
      },
    );
  });
}

function abortedError(name: string, signal: AbortSignal): NodeError {
  return new NodeError(name, "aborted before a reply arrived", { cause: signal.reason });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
