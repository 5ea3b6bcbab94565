/**
 * The part of an ioredis client a runner uses. `Redis` and `Cluster` from ioredis 5 and 6 match
 * it, and so does any object with these methods (a mock, a wrapper).
 */
export interface IoredisClient {
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  quit(): Promise<unknown>;
  /** Any command; used for `WAIT` (the `replicaSync` option). */
  call?(command: string, ...args: string[]): Promise<unknown>;
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

/** The client's `keyPrefix`, which the server sees in front of every key. */
export function keyPrefix(client: IoredisClient): string {
  const options = client.options as
    | { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } }
    | undefined;
  const prefix = options?.keyPrefix ?? options?.redisOptions?.keyPrefix;
  return typeof prefix === "string" ? prefix : "";
}

/** Is the client set to return integers as strings (`stringNumbers`)? */
export function stringNumbers(client: IoredisClient): boolean {
  const options = client.options as
    | { stringNumbers?: unknown; redisOptions?: { stringNumbers?: unknown } }
    | undefined;
  return (options?.stringNumbers ?? options?.redisOptions?.stringNumbers) === true;
}

/** Undo `stringNumbers` on a script reply: core expects integers as numbers. */
export function toNumbers(reply: unknown): unknown {
  if (Array.isArray(reply)) return reply.map(toNumbers);
  if (typeof reply === "string" && /^-?\d+$/.test(reply)) {
    const value = Number(reply);
    return Number.isSafeInteger(value) ? value : reply;
  }
  return reply;
}
