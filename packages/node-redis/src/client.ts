import type { ScriptCommand } from "@redlock/core/adapter";

/**
 * Options the runner passes to `sendCommand`: `{ abortSignal, typeMapping: {} }`. redis 5 and 6
 * read them (`abortSignal` drops a command not yet written; an empty `typeMapping` restores
 * default reply decoding on clients configured with another one); redis 4 ignores them. The
 * runner never passes redis 4's own `signal` option: aborting a command already written
 * corrupts that major's command queue.
 */
export type NodeRedisCommandOptions = object;

/** The parts of a `createClient()` client (redis 4, 5 or 6) that the runner uses. */
export interface NodeRedisClient {
  /** `true` after `connect()` and until the client is closed. */
  readonly isOpen: boolean;
  /** `true` while connected and ready for commands; `false` while (re)connecting. */
  readonly isReady?: boolean;
  sendCommand(args: string[], options?: NodeRedisCommandOptions): Promise<unknown>;
  /** The client's options (host, port, redis 6 `keyPrefix`); read for `name`. */
  readonly options?: unknown;
  /** Immediate close: redis 5 and 6. */
  destroy?(): unknown;
  /** Immediate close: every major. */
  disconnect?(): Promise<unknown>;
  /** A new client with the same options, used for release announcements (pub/sub). */
  duplicate?(): NodeRedisSubscriber;
}

/** The part of a duplicated client used for pub/sub. */
export interface NodeRedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: string, channel: string) => void,
  ): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: "error", listener: (error: unknown) => void): unknown;
  destroy?(): unknown;
  disconnect?(): Promise<unknown>;
}

/** The parts of a `createCluster()` client (redis 4, 5 or 6) that the runner uses. */
export interface NodeRedisCluster extends Omit<NodeRedisClient, "sendCommand" | "options"> {
  /** Known masters; filled in by `connect()`. */
  readonly masters: ReadonlyArray<{ readonly host?: string; readonly port?: number }>;
  /** Routes the command to the master serving `firstKey`'s hash slot. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: NodeRedisCommandOptions,
  ): Promise<unknown>;
  /** redis 6 cluster options (for `keyPrefix`). */
  readonly _options?: unknown;
}

/** Either kind of node-redis client. */
export type NodeRedisClientLike = NodeRedisClient | NodeRedisCluster;

type Bag = Record<string, unknown>;

const isBag = (value: unknown): value is Bag => typeof value === "object" && value !== null;

/** Does `value` look like a node-redis client or cluster (checked structurally)? */
export function isNodeRedisClient(value: unknown): value is NodeRedisClientLike {
  return (
    isBag(value) && typeof value.sendCommand === "function" && typeof value.isOpen === "boolean"
  );
}

/** Is `client` a `createCluster()` client (it knows its masters)? */
export function isCluster(client: NodeRedisClientLike): client is NodeRedisCluster {
  return Array.isArray((client as Partial<NodeRedisCluster>).masters);
}

/** The client's own `keyPrefix` (redis 6), which typed commands apply and `sendCommand` does not. */
export function keyPrefixOf(client: NodeRedisClientLike): unknown {
  const options = isCluster(client) ? client._options : client.options;
  return isBag(options) ? options.keyPrefix : undefined;
}

/**
 * A credential-free name of the server, such as `redis://127.0.0.1:6379` or
 * `redis-cluster://a:1,b:2`. The database number is left out: the databases of one server fail
 * together, so core refuses two runners for one server whatever their databases.
 */
export function nodeName(client: NodeRedisClientLike): string {
  if (isCluster(client)) {
    const masters = client.masters.map((m) => `${m.host ?? "localhost"}:${m.port ?? 6379}`);
    return masters.length ? `redis-cluster://${masters.join(",")}` : "redis-cluster";
  }
  const options = isBag(client.options) ? client.options : {};
  const socket = isBag(options.socket) ? options.socket : {};
  // The URL first: node-redis copies the URL's host and port into the `socket` object it was
  // given, which several clients may share, so `socket` can show another client's address.
  const url = parseUrl(options.url);
  if (url) {
    const scheme = url.protocol === "rediss:" || socket.tls === true ? "rediss" : "redis";
    return `${scheme}://${url.hostname || "localhost"}:${url.port || 6379}`;
  }
  if (typeof socket.path === "string") return `unix://${socket.path}`;
  const scheme = socket.tls === true ? "rediss" : "redis";
  const host = typeof socket.host === "string" ? socket.host : "localhost";
  const port = typeof socket.port === "number" ? socket.port : 6379;
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** `url` parsed, or `undefined`; only its scheme, host and port are ever read (no credentials). */
function parseUrl(url: unknown): URL | undefined {
  if (typeof url !== "string" || url === "") return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** Close a client at once, whichever major version it is from. */
export function closeClient(client: { destroy?(): unknown; disconnect?(): unknown }): unknown {
  return client.destroy ? client.destroy() : client.disconnect?.();
}

/** Command options that keep replies as the server sent them (no RESP3 type mapping). */
export const RAW_REPLIES: NodeRedisCommandOptions = Object.freeze({ typeMapping: {} });

/**
 * The options script calls need on `client`: {@link RAW_REPLIES} when the client maps reply types
 * (redis 5 and 6 `commandOptions.typeMapping` or `withTypeMapping()`), none otherwise. Passing
 * options costs a measurable share of a call in the driver, so a client decoding replies the
 * default way gets none.
 */
export function replyOptions(client: object): NodeRedisCommandOptions | undefined {
  const options = (client as { _commandOptions?: { typeMapping?: unknown } })._commandOptions;
  const mapping = options?.typeMapping;
  if (mapping === undefined || mapping === null) return undefined;
  return typeof mapping === "object" && Object.keys(mapping).length === 0 ? undefined : RAW_REPLIES;
}

/** `EVALSHA sha1` or `EVAL source`, then `numkeys`, the keys (with the client's prefix) and the arguments, as strings. */
export function scriptCommand(
  verb: ScriptCommand,
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
