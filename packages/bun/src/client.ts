/** Receives the messages of a subscribed channel: the message, then the channel. */
export type BunMessageListener = (message: string, channel: string) => void;

/**
 * The part of Bun's `RedisClient` (`import { RedisClient } from "bun"`) that a runner uses. Any
 * object with these members matches it too (a mock, a wrapper).
 */
export interface BunRedisClient {
  /** Sends one raw command; the arguments are strings. */
  send(command: string, args: string[]): Promise<unknown>;
  /** `true` while the connection is open; `false` before the first command and once closed. */
  readonly connected: boolean;
  /** Closes the connection at once; commands still waiting for a reply are rejected. */
  close(): void;
  /** A new client with the same configuration, used for release announcements (pub/sub). */
  duplicate?(): Promise<BunRedisSubscriber>;
}

/** The part of a duplicated client used for pub/sub. */
export interface BunRedisSubscriber {
  readonly connected: boolean;
  /** Resolves once the server confirmed the subscription. */
  subscribe(channel: string, listener: BunMessageListener): Promise<unknown>;
  /** Removes `listener`; the channel is unsubscribed once it has no listener left. */
  unsubscribe(channel: string, listener: BunMessageListener): Promise<unknown>;
  /** Called on every (re)connection: Bun does not subscribe again by itself after a reconnect. */
  onconnect: (() => void) | null;
  close(): void;
}

/** Does `value` have the members of a {@link BunRedisClient}? */
export function isBunRedisClient(value: unknown): value is BunRedisClient {
  const client = value as Partial<BunRedisClient> | null;
  return (
    typeof client === "object" &&
    client !== null &&
    typeof client.send === "function" &&
    typeof client.close === "function" &&
    typeof client.connected === "boolean"
  );
}

/** Expected-value text shared by every `INVALID_RUNNER` error of this package. */
export const EXPECTED_CLIENT =
  'expected a RedisClient from "bun" (with send, close and connected) or a runner from createBunRunner.';

/** `EVALSHA sha1` or `EVAL source` arguments: the script, `numkeys`, the keys, the arguments. */
export function scriptArgs(
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): string[] {
  const out = new Array<string>(2 + keys.length + args.length);
  out[0] = script;
  out[1] = String(keys.length);
  for (let i = 0; i < keys.length; i++) out[2 + i] = keys[i] as string;
  for (let i = 0; i < args.length; i++) out[2 + keys.length + i] = String(args[i]);
  return out;
}

/**
 * A script reply as a RESP2 client would see it, which core expects. Bun speaks RESP3, whose
 * extra types reach a script only when it opts in (`redis.setresp(3)`): booleans become `1` and
 * `null`, big numbers numbers (strings when not exact), maps flat `[key, value, …]` arrays.
 * Numbers, strings, `null` and arrays of them come back as they are.
 */
export function decodeReply(reply: unknown): unknown {
  switch (typeof reply) {
    case "number":
    case "string":
      return reply;
    case "boolean":
      return reply ? 1 : null;
    case "bigint":
      return Number.isSafeInteger(Number(reply)) ? Number(reply) : String(reply);
    case "object":
      if (reply === null) return null;
      if (Array.isArray(reply)) return reply.map(decodeReply);
      if (reply instanceof Uint8Array) return reply;
      return Object.entries(reply).flatMap(([key, value]) => [key, decodeReply(value)]);
    default:
      return reply;
  }
}

/** Bun's error codes for a connection that closed, or never opened, under a command. */
const CONNECTION_LOST = new Set([
  "ERR_REDIS_CONNECTION_CLOSED",
  "ERR_REDIS_CONNECTION_TIMEOUT",
  "ERR_REDIS_IDLE_TIMEOUT",
]);

/** Did the call fail because the connection is gone, rather than with a reply error? */
export function isConnectionLost(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && CONNECTION_LOST.has(code);
}
