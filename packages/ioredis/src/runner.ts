import {
  InvalidArgumentError,
  type LockScript,
  MAX_TIMER_DELAY,
  NodeError,
  NodeTimeoutError,
  NodeUnreachableError,
  type RunOptions,
  type ScriptRunner,
} from "@redlock/core";
import { createReleaseListeners, sanitizeError, watchConnection } from "@redlock/core/adapter";
import { clientName } from "./name";

/**
 * The part of an ioredis client a runner uses. `Redis` and `Cluster` from ioredis 5 and 6 match
 * it, and so does any object with these methods (a mock, a wrapper).
 */
export interface IoredisClient {
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  quit(): Promise<unknown>;
  /** Closes the connection at once; used when `quit()` fails. */
  disconnect?(): void;
  /** Connection state; `"end"` once closed. */
  readonly status?: string;
  /** `true` on a `Cluster` client. */
  readonly isCluster?: boolean;
  /** The client's options; read for the runner's name and the key prefix. */
  readonly options?: object;
  /** A new connection with the same options, used for release announcements (pub/sub). */
  duplicate?(...overrides: unknown[]): IoredisSubscriber;
  /** Used to close that connection when the client closes for good (`"end"`). */
  once?(event: "end", listener: () => void): unknown;
  /** Used, while a reply is awaited, to learn that the connection was refused. */
  on?(event: "error", listener: (error: unknown) => void): unknown;
  removeListener?(event: "error", listener: (error: unknown) => void): unknown;
}

/** The part of a duplicated client used for pub/sub. */
export interface IoredisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** Options of {@link createIoredisRunner}. */
export interface IoredisRunnerOptions {
  /**
   * The node's name in errors and events.
   * @default derived from the client's host and port, such as `"redis://127.0.0.1:6379"`
   */
  name?: string;
  /**
   * Milliseconds to wait for a reply before rejecting with `NodeTimeoutError`; `Infinity` waits
   * for as long as core does (its `nodeTimeout`).
   * @default 5000
   */
  timeout?: number;
}

/** Does `value` have the methods of an {@link IoredisClient}? */
export function isIoredisClient(value: unknown): value is IoredisClient {
  const client = value as Partial<IoredisClient> | null;
  return (
    typeof client === "object" &&
    client !== null &&
    typeof client.evalsha === "function" &&
    typeof client.eval === "function" &&
    typeof client.quit === "function"
  );
}

/** Expected-value text shared by every `INVALID_RUNNER` error of this package. */
export const EXPECTED_CLIENT =
  "expected an ioredis Redis or Cluster client (with evalsha, eval and quit) or a runner from createIoredisRunner.";

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
  options: IoredisRunnerOptions = {},
): ScriptRunner {
  if (!isIoredisClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", EXPECTED_CLIENT);
  }
  const { name = clientName(client), timeout = 5000 } = options;
  const explicitTimeout = options.timeout !== undefined;
  if (typeof name !== "string" || name === "") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.name",
      "expected a non-empty string.",
    );
  }
  const finite = Number.isInteger(timeout) && timeout > 0 && timeout <= MAX_TIMER_DELAY;
  if (!finite && timeout !== Number.POSITIVE_INFINITY) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.timeout",
      `expected a positive integer of at most ${MAX_TIMER_DELAY} ms, or Infinity; got ${String(timeout)}.`,
    );
  }
  const numbers = stringNumbers(client);
  const prefix = keyPrefix(client);

  // Release announcements arrive on a second connection, opened when first needed.
  let subscriber: IoredisSubscriber | undefined;
  const releases = createReleaseListeners({
    subscribe: (channel) => (subscriber as IoredisSubscriber).subscribe(channel),
    unsubscribe: (channel) => (subscriber as IoredisSubscriber).unsubscribe(channel),
  });
  const onRelease =
    typeof client.duplicate === "function"
      ? (key: string, listener: () => void) => {
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
        }
      : undefined;

  /** `EVALSHA`, then `EVAL` on `NOSCRIPT` unless core stopped waiting meanwhile. */
  const evaluate = (
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    runOptions: RunOptions | undefined,
  ): Promise<unknown> => {
    let reply: Promise<unknown>;
    try {
      reply = client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.catch((error: unknown) => {
      if (!/noscript/i.test(messageOf(error)) || runOptions?.signal?.aborted) throw error;
      return client.eval(script.source, keys.length, ...keys, ...args);
    });
  };

  // Reject functions of the runs still waiting for a reply.
  const waiting = new Set<(error: NodeError) => void>();
  let disconnected = false;
  const closedError = () => new NodeError(name, "client closed before a reply");
  const connection = watchConnection(client, name, () => client.status === "ready");
  // An ended client rejects every command ("Connection is closed.") and never reconnects by
  // itself; `cause` is the driver's error when the client ended under a command.
  const unreachable = (cause?: Error) =>
    client.status === "end"
      ? (connection.failure ??
        new NodeUnreachableError(
          name,
          "the client is closed: call client.connect() to reconnect it, or create a new client.",
          cause && { cause },
        ))
      : connection.failure;

  /** The error a call ends with when the client rejected it. */
  const runFailure = (
    script: LockScript,
    args: readonly (string | number)[],
    error: unknown,
  ): NodeError => {
    const cause = sanitizeError(error, args);
    const message = `${script.name} script failed: ${cause.message}`;
    return unreachable(cause) ?? new NodeError(name, message, { cause });
  };

  return {
    name,
    ...(onRelease ? { onRelease } : {}),
    run(script, keys, args, runOptions?: RunOptions) {
      if (runOptions?.enforced && !explicitTimeout && client.status === "ready" && !disconnected) {
        // The common case: connected, and bounded by core's deadline. The command is written
        // now, so nothing is tracked per call: no timer, no abort listener. A connection lost
        // under it is reported when it is next used; core stops waiting at its deadline.
        const reply = evaluate(script, keys, args, runOptions);
        const failed = (error: unknown) => {
          throw runFailure(script, args, error);
        };
        return numbers ? reply.then(toNumbers, failed) : reply.catch(failed);
      }
      const signal = runOptions?.signal;
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        let untrack = () => {};
        const settle = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          waiting.delete(fail);
          untrack();
        };
        const fail = (error: NodeError) => {
          settle();
          reject(error);
        };
        const onAbort = () =>
          fail(new NodeError(name, "stopped waiting for a reply", { cause: signal?.reason }));
        if (signal?.aborted) return onAbort();
        if (disconnected) return fail(closedError());
        const failure = unreachable();
        if (failure) return fail(failure);
        signal?.addEventListener("abort", onAbort, { once: true });
        waiting.add(fail);
        untrack = connection.track(fail);
        // Core bounds every call with its own signal; the runner's own timer runs for calls
        // without one, or when a timeout was set explicitly.
        if (finite && (!signal || explicitTimeout)) {
          timer = setTimeout(() => fail(new NodeTimeoutError(name, timeout)), timeout);
        }
        evaluate(script, keys, args, runOptions).then(
          (reply) => {
            settle();
            resolve(numbers ? toNumbers(reply) : reply);
          },
          (error: unknown) => fail(runFailure(script, args, error)),
        );
      });
    },
    async quit() {
      subscriber?.disconnect();
      subscriber = undefined;
      try {
        if (client.status !== "end") await client.quit();
      } catch (error) {
        if (typeof client.disconnect !== "function") {
          const cause = sanitizeError(error);
          throw new NodeError(name, `quit failed: ${cause.message}`, { cause });
        }
        // While reconnecting, ioredis queues QUIT behind unsent commands, rejects it when the
        // retry limit is reached and keeps reconnecting: close the connection outright. Such a
        // client never settles the commands it still has queued, nor any sent later.
        disconnected = true;
        client.disconnect();
      } finally {
        for (const fail of [...waiting]) fail(closedError());
      }
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The client's `keyPrefix`, which the server sees in front of every key. */
function keyPrefix(client: IoredisClient): string {
  const options = client.options as
    | { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } }
    | undefined;
  const prefix = options?.keyPrefix ?? options?.redisOptions?.keyPrefix;
  return typeof prefix === "string" ? prefix : "";
}

/** Is the client set to return integers as strings (`stringNumbers`)? */
function stringNumbers(client: IoredisClient): boolean {
  const options = client.options as
    | { stringNumbers?: unknown; redisOptions?: { stringNumbers?: unknown } }
    | undefined;
  return (options?.stringNumbers ?? options?.redisOptions?.stringNumbers) === true;
}

/** Undo `stringNumbers` on a script reply: core expects integers as numbers. */
function toNumbers(reply: unknown): unknown {
  if (Array.isArray(reply)) return reply.map(toNumbers);
  if (typeof reply === "string" && /^-?\d+$/.test(reply)) {
    const value = Number(reply);
    return Number.isSafeInteger(value) ? value : reply;
  }
  return reply;
}
