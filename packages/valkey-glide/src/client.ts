import type { LockScript } from "@redlock/core";
import type { ScriptCommand } from "@redlock/core/adapter";

/**
 * The parts of a Valkey GLIDE client (`GlideClient` or `GlideClusterClient` from
 * `@valkey/valkey-glide` 2.x) that a runner uses. Both classes match it, and so does any object
 * with these methods (a mock, a wrapper).
 */
export interface GlideClientLike {
  /**
   * Sends one command as given. A runner passes `{ route }` on a `GlideClusterClient` only; a
   * `GlideClient` gets no options.
   */
  customCommand(args: string[], options?: object): Promise<unknown>;
  /** Closes the client for good, rejecting its pending commands with a `ClosingError`. */
  close(errorMessage?: string): void;
  /** Dynamic pub/sub (GLIDE 2.3 and later); a runner's release subscriber uses it. */
  subscribe?(channels: Iterable<string>, timeoutMs: number): Promise<void>;
  /** Dynamic pub/sub (GLIDE 2.3 and later). */
  unsubscribe?(channels: Iterable<string> | null, timeoutMs: number): Promise<void>;
}

/**
 * The client's configuration as GLIDE keeps it (`client.config`, the object given to
 * `createClient`). Read only for the node's name, the client's `requestTimeout`, and the
 * configuration of the release subscriber.
 */
export type GlideConfig = Record<string, unknown>;

/** GLIDE's `requestTimeout` when a client sets none, in milliseconds. */
export const GLIDE_DEFAULT_REQUEST_TIMEOUT = 250;

/** Why a runner's calls fail once its `quit()` began. */
export const QUIT_MESSAGE = "client closed by quit()";

/** Expected-value text shared by every `INVALID_RUNNER` error of this package. */
export const EXPECTED_CLIENT =
  "expected a Valkey GLIDE GlideClient or GlideClusterClient (with customCommand and close), " +
  "made with await GlideClient.createClient(…), or a runner from createValkeyGlideRunner.";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** Does `value` have the methods of a {@link GlideClientLike}? */
export function isGlideClient(value: unknown): value is GlideClientLike {
  return (
    isObject(value) &&
    typeof value.customCommand === "function" &&
    typeof value.close === "function"
  );
}

/** Is `client` a `GlideClusterClient` (it has the cluster-only `…WithRoute` methods)? */
export function isClusterClient(client: GlideClientLike): boolean {
  const methods = client as unknown as Record<string, unknown>;
  return (
    typeof methods.fcallWithRoute === "function" ||
    typeof methods.invokeScriptWithRoute === "function"
  );
}

/** The configuration the client was created with, when it can be read. */
export function glideConfig(client: GlideClientLike): GlideConfig | undefined {
  const config = (client as unknown as { config?: unknown }).config;
  return isObject(config) ? config : undefined;
}

/** `host:port` of one configured address, IPv6 hosts in brackets. */
function address(entry: unknown): string {
  const { host, port } = isObject(entry) ? entry : {};
  const name = typeof host === "string" && host ? host : "unknown";
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  return `${bracketed}:${typeof port === "number" ? port : 6379}`;
}

/**
 * A name for a GLIDE client built from its configured addresses only (never its credentials):
 * `redis://host:port`, `rediss://…` with TLS, `redis://a:1,b:2` for a standalone client given
 * several addresses, `redis-cluster://a:1,b:2` for a cluster client. It names the server, not
 * the database (`databaseId`): the databases of one server fail together, so core refuses two
 * runners for one server whatever their databases. `valkey-glide` when no address can be read.
 */
export function clientName(client: GlideClientLike, cluster: boolean): string {
  const config = glideConfig(client);
  const addresses = Array.isArray(config?.addresses) ? config.addresses.map(address) : [];
  if (addresses.length === 0) return "valkey-glide";
  const scheme = cluster ? "redis-cluster" : config?.useTLS === true ? "rediss" : "redis";
  return `${scheme}://${addresses.join(",")}`;
}

/** The client's `requestTimeout` in milliseconds: GLIDE's own bound on every command. */
export function requestTimeout(client: GlideClientLike): number {
  const timeout = glideConfig(client)?.requestTimeout;
  return typeof timeout === "number" ? timeout : GLIDE_DEFAULT_REQUEST_TIMEOUT;
}

/** `EVALSHA sha1` or `EVAL source`, then `numkeys`, the keys and the arguments, as strings. */
export function scriptArgs(
  command: ScriptCommand,
  script: LockScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): string[] {
  const out = new Array<string>(3 + keys.length + args.length);
  out[0] = command;
  out[1] = command === "EVAL" ? script.source : script.sha1;
  out[2] = String(keys.length);
  for (let i = 0; i < keys.length; i++) out[3 + i] = keys[i] as string;
  for (let i = 0; i < args.length; i++) out[3 + keys.length + i] = String(args[i]);
  return out;
}

const utf8 = new TextDecoder();

/**
 * A script reply as core expects it: bulk strings as strings (GLIDE gives `Buffer`s to clients
 * whose `defaultDecoder` is `Decoder.Bytes`), arrays decoded item by item, the rest unchanged
 * (integers are already numbers, nil is `null`).
 */
export function decodeReply(reply: unknown): unknown {
  if (reply instanceof Uint8Array) return utf8.decode(reply);
  if (Array.isArray(reply)) return reply.map(decodeReply);
  return reply;
}
