import {
  InvalidArgumentError,
  type LockScript,
  NodeError,
  NodeTimeoutError,
  type RunOptions,
  type ScriptRunner,
} from "@redlock/core";
import { createReleaseListeners } from "@redlock/core/adapter";
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

  const inFlight = new Set<Promise<unknown>>();

  // Release announcements arrive on a second connection, opened when first needed (standalone
  // clients only; cluster waiters poll, bounded by the holder's TTL).
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
      const reply = withDeadline(name, timeout, run?.signal, explicitTimeout, async (signal) => {
        const prefixed = keys.map((key) => prefix + key);
        const tail = [String(keys.length), ...prefixed, ...args.map(String)];
        const opts = { abortSignal: signal, typeMapping: {} };
        try {
          return await send(["EVALSHA", script.sha1, ...tail], prefixed[0], opts);
        } catch (error) {
          if (!messageOf(error).toUpperCase().includes("NOSCRIPT")) throw error;
          return await send(["EVAL", script.source, ...tail], prefixed[0], opts);
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
        await withDeadline(name, timeout, undefined, true, async (abortSignal) =>
          client.sendCommand(["PING"], { abortSignal }),
        ).catch(() => {});
      }
      if (!client.isOpen) return;
      await withDeadline(name, timeout, undefined, true, async () =>
        client.destroy ? client.destroy() : client.disconnect?.(),
      );
    },
  };
}

/**
 * Run `work`, rejecting with `NodeTimeoutError` after `timeout` ms or when `outer` aborts.
 * node-redis's own command timeout and abort signal stop only commands not yet written, so a
 * reply that never comes would otherwise be awaited until the connection closes.
 */
function withDeadline<T>(
  name: string,
  timeout: number,
  outer: AbortSignal | undefined,
  ownTimer: boolean,
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
    // Core's shared signal is listened to once here, not handed to the driver, which would add a
    // listener per command to a signal many requests share.
    work(controller?.signal).then(
      (reply) => {
        settle();
        resolve(reply);
      },
      (error: unknown) => {
        settle();
        reject(new NodeError(name, messageOf(error), { cause: error }));
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
