import { NodeUnreachableError } from "../errors";
import { sanitizeError } from "./sanitize";

/** Socket error codes after which no reply can come: what happened, and what to check. */
const UNREACHABLE: Readonly<Record<string, readonly [string, string]>> = {
  ECONNREFUSED: ["connection refused", "is redis-server running there, on that port?"],
  ENOTFOUND: ["host not found", "check the host name."],
  EAI_AGAIN: ["host name lookup failed", "check the host name and DNS."],
  EHOSTUNREACH: ["host unreachable", "check the address and the network."],
  ENETUNREACH: ["network unreachable", "check the address and the network."],
  ENOENT: ["no such socket", "check the socket path; is redis-server running?"],
};

/**
 * A {@link NodeUnreachableError} saying what happened and what to do when `error` is a
 * connection error after which no reply can come (a refused connection, an unknown host);
 * otherwise `undefined`. For adapter authors (`@redlock/core/adapter`).
 *
 * @param node the runner's name
 * @param error an error the driver threw or emitted
 */
export function unreachableError(node: string, error: unknown): NodeUnreachableError | undefined {
  const cause = sanitizeError(error);
  const message = explain(cause);
  return message === undefined ? undefined : new NodeUnreachableError(node, message, { cause });
}

/** What happened and what to do, for a sanitized connection error after which no reply can come. */
function explain(error: Error): string | undefined {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  const known = typeof code === "string" ? UNREACHABLE[code] : undefined;
  if (!known || (code === "ENOENT" && syscall !== "connect")) return undefined;
  // Node reports both addresses of a dual-stack host in one AggregateError.
  const first: unknown = error instanceof AggregateError ? error.errors[0] : error;
  const { address, hostname, port } = (first ?? error) as Record<string, unknown>;
  const host = typeof address === "string" ? address : hostname;
  const at = typeof host === "string" ? ` at ${host}${port ? `:${port}` : ""}` : "";
  return `${known[0]} (${code})${at}: ${known[1]}`;
}

/** The events of a driver client a {@link ConnectionWatch} listens to (Node's EventEmitter API). */
interface ConnectionEvents {
  on(event: "error", listener: (error: unknown) => void): unknown;
  removeListener(event: "error", listener: (error: unknown) => void): unknown;
  listenerCount?(event: "error"): number;
}

/** Options of {@link watchConnection}. */
export interface WatchOptions {
  /**
   * Keep listening from the first request on, instead of only while requests wait: for clients
   * whose listeners cannot all be removed safely. While it is the client's only `error`
   * listener, the watch throws each error on, as an EventEmitter does with an `error` event
   * nobody listens to.
   * @default false
   */
  readonly keep?: boolean;
}

/** What one runner learns about its client's connection; see {@link watchConnection}. */
export interface ConnectionWatch {
  /**
   * Why the client's last connection attempt failed, while it has not been seen ready since: a
   * call made now would only wait for a reconnect that is failing, so fail it at once with this.
   */
  readonly failure: NodeUnreachableError | undefined;
  /**
   * Call `fail` when the connection fails before the returned function is called (call that
   * when the request settles).
   */
  track(fail: (error: NodeUnreachableError) => void): () => void;
}

/** One listener per client, whatever the number of runners over it. */
interface Shared {
  /** The last connection error, sanitized. */
  last: Error | undefined;
  listening: boolean;
  readonly keep: boolean;
  readonly waiting: Set<(cause: Error) => void>;
  readonly onError: (error: unknown) => void;
}

const shared = new WeakMap<object, Shared>();

/**
 * Follow a driver client's connection errors, so that a node that refuses connections is
 * reported as such at once instead of as a node that did not answer in time. For adapter
 * authors (`@redlock/core/adapter`).
 *
 * The client's `error` event is listened to only while a request waits (see
 * {@link WatchOptions.keep} for the exception): a permanent listener would hide the driver's own
 * report of unhandled errors (ioredis logs them) from applications that rely on it.
 *
 * @param client an EventEmitter-like client (`on`, `removeListener`, `listenerCount`); anything
 *   else is watched by a no-op
 * @param node the runner's name
 * @param isReady whether the client is connected and ready now
 * @param options see {@link WatchOptions}
 */
export function watchConnection(
  client: unknown,
  node: string,
  isReady: () => boolean,
  options: WatchOptions = {},
): ConnectionWatch {
  const events = client as Partial<ConnectionEvents> | null;
  if (typeof events?.on !== "function" || typeof events.removeListener !== "function") {
    return { failure: undefined, track: () => () => {} };
  }
  const emitter = events as ConnectionEvents;
  let state = shared.get(emitter);
  if (!state) {
    const created: Shared = {
      last: undefined,
      listening: false,
      keep: options.keep === true,
      waiting: new Set(),
      onError: (error) => {
        const cause = sanitizeError(error);
        if (explain(cause) !== undefined) {
          created.last = cause;
          for (const fail of [...created.waiting]) fail(cause);
        }
        if (created.keep && emitter.listenerCount?.("error") === 1) throw error;
      },
    };
    shared.set(emitter, created);
    state = created;
  }
  const own = state;
  return {
    get failure() {
      if (own.last === undefined) return undefined;
      if (isReady()) {
        own.last = undefined;
        return undefined;
      }
      return unreachableError(node, own.last);
    },
    track(fail) {
      const listener = (cause: Error) =>
        fail(unreachableError(node, cause) as NodeUnreachableError);
      if (!own.listening) emitter.on("error", own.onError);
      own.listening = true;
      own.waiting.add(listener);
      return () => {
        if (own.waiting.delete(listener) && own.waiting.size === 0 && !own.keep) {
          emitter.removeListener("error", own.onError);
          own.listening = false;
        }
      };
    },
  };
}
