import {
  InvalidArgumentError,
  type LockScript,
  MAX_TIMER_DELAY,
  NodeError,
  NodeTimeoutError,
  type ScriptRunner,
} from "@redlock/core";
import { createReleaseListeners, sanitizeError } from "@redlock/core/adapter";

/**
 * The part of an `@upstash/redis` client the runner uses. Any `Redis` instance from
 * `@upstash/redis` 1.34 or later fits, with its default options (auto-pipelining, automatic
 * deserialization, retries) left as they are. Where the client also has `subscribe()` (1.39),
 * the runner listens for releases with it (see {@link createUpstashRunner}).
 */
export interface UpstashClient {
  evalsha(sha1: string, keys: string[], args: unknown[]): Promise<unknown>;
  eval(script: string, keys: string[], args: unknown[]): Promise<unknown>;
  /**
   * Never called. Every `@upstash/redis` client has it and ioredis clients do not, although
   * they also have `evalsha` and `eval` (with another signature).
   */
  createScript(script: string): unknown;
}

/** Options of {@link createUpstashRunner}. */
export interface UpstashRunnerOptions {
  /**
   * The node's name in errors and events; it identifies the database, and `Redlock` refuses two
   * runners with the same name.
   * @default "upstash:" followed by the origin and path of the client's URL (never its token)
   */
  readonly name?: string;
  /**
   * Milliseconds to wait for a reply before rejecting with `NodeTimeoutError`. The client's
   * own retries happen within this time.
   * @default 5000
   */
  readonly timeout?: number;
  /**
   * Listen for lock releases through the client's pub/sub (`redis.subscribe()`, a
   * server-sent-events stream), so that waiters try as soon as a lock is released instead of at
   * their next retry. Clients without `subscribe()` (`@upstash/redis` 1.34) never listen. Each
   * key waited for holds one open HTTP request per node while someone in this process waits for
   * it: set `false` where simultaneous connections are scarce (a Cloudflare Worker may have six
   * open at once), or when the server has no pub/sub. Waiters then retry on their schedule.
   * @default true
   */
  readonly subscribe?: boolean;
}

/** What an `@upstash/redis` client keeps about its endpoint; read only to name it and to redact. */
interface HttpDetails {
  readonly client?: { readonly baseUrl?: unknown; readonly headers?: Record<string, unknown> };
}

const REDACTED = "[redacted]";

/**
 * Turn an `@upstash/redis` client into a `ScriptRunner` for one Redis database.
 *
 * Runs `EVALSHA` and falls back to `EVAL` when the database reports `NOSCRIPT`. Failures are
 * wrapped in `NodeError` (the client's error as `cause`); a reply that does not come within
 * `timeout` rejects with `NodeTimeoutError`. Neither the token nor a lock value appears in a
 * name or an error: the client's URL contributes only its origin and path; causes are sanitized
 * copies (see `sanitizeError`) with credentials removed where they stand (after `Bearer`, in an
 * `authorization` field, a `token` query parameter, a URL's user information, the token as a
 * whole word).
 *
 * The client's defaults (auto-pipelining, automatic deserialization, retries) can stay on. Do
 * not give it a fixed `signal`: once that aborts, every request resolves to `null` or fails.
 * This runner has its own timeout.
 *
 * Requests for one lock value go out in order: a call waits until the runner's earlier requests
 * with that value have settled, so a release lands after the acquire it undoes. `quit()`
 * resolves once no acquire, extend or release is in flight.
 *
 * With a client that has `subscribe()` (1.39; not 1.34), the runner has `onRelease`: waiters
 * learn of a release from the server's announcement on `redlock:released:<key>` instead of at
 * their next retry. Each channel is one `redis.subscribe()` stream (`POST /subscribe/<channel>`,
 * answered with server-sent events), opened for its first listener and aborted after its last;
 * `onRelease` resolves once the server confirmed the subscription (the subscriber's `subscribe`
 * event), or rejects with `NodeError` (`NodeTimeoutError` after `timeout`). Auto-pipelining does
 * not touch subscriptions: the client sends them on their own. `/`, `\`, `?`, `#` and `%` in a
 * key are percent-encoded in the stream's path (the server decodes it); a key with a line break
 * is not listened for, since each event is one line. `quit()` aborts every stream, so nothing
 * keeps the process alive; the runner subscribes again for listeners that come later. The
 * client's subscriber reports nothing when a stream ends on the server's side (network loss,
 * server restart): waiters for that key retry on their schedule until they all leave and the
 * next one subscribes afresh.
 *
 * @param client a `Redis` instance from `@upstash/redis`
 * @param options the node's name, reply timeout and whether to listen for releases
 * @throws {InvalidArgumentError} `client` is not an `@upstash/redis` client, `timeout` is not a
 *   positive number of milliseconds, or `subscribe` is not a boolean
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * const runner = createUpstashRunner(new Redis({ url, token }), { timeout: 2000 });
 * ```
 */
export function createUpstashRunner(
  client: UpstashClient,
  options: UpstashRunnerOptions = {},
): ScriptRunner {
  if (!isUpstashClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", CLIENT_HINT);
  }
  const timeout = options.timeout ?? 5000;
  const explicit = options.timeout !== undefined;
  if (typeof timeout !== "number" || !(timeout > 0 && timeout <= MAX_TIMER_DELAY)) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.timeout",
      `expected a number of milliseconds in (0, ${MAX_TIMER_DELAY}].`,
    );
  }
  if (options.subscribe !== undefined && typeof options.subscribe !== "boolean") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.subscribe",
      "expected true or false.",
    );
  }
  const details = (client as HttpDetails).client;
  const token = tokenOf(details?.headers);
  const name = options.name ?? defaultName(details?.baseUrl, token);
  const fail = (error: unknown, args: readonly unknown[]) => {
    // The client appends the whole request body ("command was: …"), which holds the lock
    // value and, for EVAL, the script source: the cause is a copy without it (and without the
    // token), keeping the client's name, message and code.
    const clean = scrub(sanitizeError(error, args), token);
    return new NodeError(name, clean.message, { cause: clean });
  };

  // Separate HTTP requests are not ordered like commands on one connection, and a request
  // given up on may still run later. So a call waits for this runner's requests still in flight
  // with the same lock value (ARGV[1]): the release of an abandoned attempt never lands before
  // the acquire it undoes. Each value's entry settles after its latest request, then goes.
  const inFlight = new Map<string, Promise<void>>();
  const track = (value: string, request: Promise<unknown>) => {
    const settled = request.then(noop, noop);
    inFlight.set(value, settled);
    void settled.then(() => {
      if (inFlight.get(value) === settled) inFlight.delete(value);
    });
  };

  const subscribe = options.subscribe === false ? undefined : subscribeOf(client);
  const streams = subscribe
    ? releaseStreams(subscribe, name, timeout, (error) => fail(error, []))
    : undefined;

  const runner: ScriptRunner = {
    name,
    ...(streams ? { onRelease: streams.onRelease } : {}),
    run(script, keys, args, runOptions) {
      const value = script.name !== "fence" && args.length > 0 ? String(args[0]) : undefined;
      const earlier = value === undefined ? undefined : inFlight.get(value);
      // A release goes out (EVAL fallback included) even once core stopped waiting: landing
      // late is harmless, and it may be what undoes an acquire that landed late.
      const release = script.name === "release";
      const send = (stopped: () => boolean) => {
        const givenUp = release ? () => false : stopped;
        const evaluated = () => evaluate(client, script, [...keys], [...args], givenUp);
        // An acquire or extend whose caller stopped waiting before its turn is not sent.
        const request = earlier
          ? earlier.then(() => (givenUp() ? Promise.reject(NOT_SENT) : evaluated()))
          : evaluated();
        if (value !== undefined) track(value, request);
        return request;
      };
      const failed = (error: unknown) => fail(error, args);
      return withTimeout(send, name, explicit, timeout, failed, runOptions?.signal);
    },
    // Aborts the release streams; resolves once every acquire, extend and release in flight has
    // settled, including releases still waiting for the request they undo.
    async quit() {
      streams?.close();
      while (inFlight.size > 0) await Promise.all(inFlight.values());
    },
  };
  IN_FLIGHT.set(runner, inFlight);
  return runner;
}

/** Each runner's requests in flight, by lock value; read by tests. @internal */
export const IN_FLIGHT = new WeakMap<ScriptRunner, ReadonlyMap<string, Promise<void>>>();

const NOT_SENT = new Error("not sent: the caller stopped waiting");
const noop = () => {};

/** Also used to validate the clients given to `Redlock`. @internal */
export const CLIENT_HINT = "expected an @upstash/redis client (new Redis({ url, token })).";

/** Does `value` look like an `@upstash/redis` client? @internal */
export function isUpstashClient(value: unknown): value is UpstashClient {
  const candidate = value as Partial<UpstashClient> | null | undefined;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.evalsha === "function" &&
    typeof candidate.eval === "function" &&
    typeof candidate.createScript === "function"
  );
}

/** What `redis.subscribe()` returns, as far as the runner uses it. */
interface UpstashSubscriber {
  on(type: "subscribe" | "message" | "error", listener: (event: unknown) => void): void;
  unsubscribe(): Promise<void>;
}

type Subscribe = (channels: string[]) => UpstashSubscriber;

/** The client's `subscribe()`, where it has one. */
function subscribeOf(client: UpstashClient): Subscribe | undefined {
  // With auto-pipelining the client is a proxy that hands out `subscribe` itself: it is no
  // pipeline command.
  const subscribe = (client as { subscribe?: unknown }).subscribe;
  if (typeof subscribe !== "function") return undefined;
  return (channels) => subscribe.call(client, channels) as UpstashSubscriber;
}

/** `onRelease` over release streams, and `close` for `quit()`. */
interface ReleaseStreams {
  onRelease(key: string, listener: () => void): Promise<() => Promise<void>>;
  close(): void;
}

/**
 * Release announcements through the client's own pub/sub: one `redis.subscribe()` stream per
 * channel, opened for its first listener and aborted after its last one (the bookkeeping is
 * core's `createReleaseListeners`). A channel counts as subscribed once the server's
 * `subscribe,<channel>,<count>` event arrived, within `timeout` ms.
 */
function releaseStreams(
  subscribe: Subscribe,
  name: string,
  timeout: number,
  fail: (error: unknown) => NodeError,
): ReleaseStreams {
  // `close()` ends a generation: its streams are aborted and its confirmations given up on;
  // listeners that come later subscribe again in the next one, on streams of their own.
  const generation = () => {
    const open = new Map<string, UpstashSubscriber>();
    const confirming = new Set<(error: NodeError) => void>();
    const releases = createReleaseListeners({
      subscribe: (channel) =>
        new Promise<void>((resolve, reject) => {
          if (/[\r\n]/.test(channel)) {
            reject(new NodeError(name, LINE_BREAK));
            return;
          }
          let subscriber: UpstashSubscriber;
          try {
            subscriber = subscribe([pathSegment(channel)]);
          } catch (error) {
            reject(fail(error));
            return;
          }
          if (
            typeof subscriber?.on !== "function" ||
            typeof subscriber.unsubscribe !== "function"
          ) {
            reject(new NodeError(name, NO_SUBSCRIBER));
            return;
          }
          let done = false;
          const settle = (error?: NodeError) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            confirming.delete(settle);
            if (!error) {
              open.set(channel, subscriber);
              resolve();
              return;
            }
            stop(subscriber);
            reject(error);
          };
          const timer = setTimeout(() => settle(new NodeTimeoutError(name, timeout)), timeout);
          confirming.add(settle);
          subscriber.on("subscribe", () => settle());
          subscriber.on("error", (error) => settle(fail(error)));
          subscriber.on("message", () => releases.dispatch(channel));
        }),
      unsubscribe: async (channel) => {
        const subscriber = open.get(channel);
        open.delete(channel);
        await subscriber?.unsubscribe();
      },
    });
    const close = () => {
      for (const settle of [...confirming]) settle(new NodeError(name, CLOSED));
      for (const subscriber of open.values()) stop(subscriber);
      open.clear();
    };
    return { releases, close };
  };

  let current = generation();
  return {
    onRelease: (key, listener) => current.releases.onRelease(key, listener),
    close() {
      const ended = current;
      current = generation();
      ended.close();
    },
  };
}

/** Abort a subscriber's stream; never throws. */
function stop(subscriber: UpstashSubscriber): void {
  try {
    subscriber.unsubscribe().catch(noop);
  } catch {
    // Its stream ends with the process anyway.
  }
}

const NO_SUBSCRIBER = "the client's subscribe() returned no subscriber";
const LINE_BREAK = "cannot listen for releases of a key with a line break (one event is one line)";
const CLOSED = "the runner was closed before the subscription was confirmed";

/**
 * `channel` as one path segment of the stream's URL: the client puts it there as it is, so the
 * characters that would end the segment or start an escape are percent-encoded.
 */
function pathSegment(channel: string): string {
  return channel.replace(/[%/\\?#]/g, (character) => encodeURIComponent(character));
}

/** `EVALSHA`, then `EVAL` on `NOSCRIPT` unless the caller has stopped waiting by then. */
async function evaluate(
  client: UpstashClient,
  script: LockScript,
  keys: string[],
  args: unknown[],
  stopped: () => boolean,
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha1, keys, args);
  } catch (error) {
    // "NOSCRIPT No matching script…", prefixed "Command failed: " when auto-pipelined.
    if (stopped() || !(isError(error) && /noscript/i.test(error.message))) throw error;
    return client.eval(script.source, keys, args);
  }
}

/**
 * Settle with the reply of `send()` unless `timeout` ms pass first or core aborts `signal`.
 * The request itself cannot be cancelled without changing the user's client, so a late reply
 * is dropped; what a late acquire wrote is undone by core's release, which `run` sends only
 * once the acquire's request has settled.
 */
function withTimeout(
  send: (stopped: () => boolean) => Promise<unknown>,
  name: string,
  explicitTimeout: boolean,
  timeout: number,
  fail: (error: unknown) => NodeError,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (settler: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settler();
    };
    const onAbort = () => {
      const reason: unknown = signal?.reason;
      settle(() => reject(reason instanceof NodeError ? reason : fail(reason)));
    };
    // Core bounds every call with its own signal; the runner's own timer runs for calls without
    // one, or when a timeout was set explicitly.
    const timer =
      signal && !explicitTimeout
        ? undefined
        : setTimeout(() => settle(() => reject(new NodeTimeoutError(name, timeout))), timeout);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    send(() => done).then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(fail(error))),
    );
  });
}

/** Structural, so errors created in another realm (fetch in a test VM, a worker) count too. */
function isError(value: unknown): value is Error {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Error).message === "string" &&
    typeof (value as Error).name === "string"
  );
}

/**
 * `upstash:` and the REST URL without credentials: its origin and path (two databases behind one
 * proxy differ by path), never user info, query, fragment or the token.
 */
function defaultName(baseUrl: unknown, token: string | undefined): string {
  if (typeof baseUrl === "string") {
    try {
      const url = new URL(baseUrl);
      const path = url.pathname
        .replace(/\/+$/, "")
        .split("/")
        .map((segment) => (token && segment === token ? REDACTED : segment))
        .join("/");
      return `upstash:${url.origin}${path}`;
    } catch {}
  }
  return "upstash";
}

function tokenOf(headers: Record<string, unknown> | undefined): string | undefined {
  const value = headers?.authorization ?? headers?.Authorization;
  if (typeof value !== "string") return undefined;
  return value.replace(/^Bearer\s+/i, "") || undefined;
}

/** Characters a token is made of: text around the token made of these is part of another word. */
const TOKEN_CHARS = "A-Za-z0-9+/=_.~-";
/**
 * Where an HTTP client, server or proxy writes credentials: after `Bearer`, as the value of an
 * `authorization` header or field, as a `token` query parameter, as a URL's user information.
 */
const CREDENTIALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(\bBearer\s+)[^\s"'`,;)\]}]+/gi, `$1${REDACTED}`],
  [/(\bauthorization\b["']?\s*[:=]\s*["']?)(?!Bearer\s)[^\s"'`,;)\]}]+/gi, `$1${REDACTED}`],
  [/([?&#](?:_?token|access_token)=)[^&#\s"'`]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/gi, `$1${REDACTED}@`],
];

/**
 * `text` with credentials removed by where they stand (see `CREDENTIALS`), and the token itself
 * where it stands as a whole word. A token's characters inside other words stay: a token "t"
 * leaves "fetch failed" alone.
 */
function redactCredentials(text: string, token: string | undefined): string {
  let out = text;
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  if (token) {
    const escaped = token.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    const word = new RegExp(`(?<![${TOKEN_CHARS}])${escaped}(?![${TOKEN_CHARS}])`, "g");
    out = out.replace(word, REDACTED);
  }
  return out;
}

/**
 * Remove credentials from `error`, a fresh copy made by `sanitizeError` (so changing it changes
 * nothing a caller holds), and from its causes. A server or proxy can echo the credentials it
 * rejected.
 */
function scrub(error: Error, token: string | undefined, depth = 0): Error {
  if (depth > 8) return error;
  const fields = error as unknown as Record<string, unknown>;
  for (const field of ["message", "stack", "name", "hostname", "address"]) {
    const value = fields[field];
    if (typeof value === "string") fields[field] = redactCredentials(value, token);
  }
  if (error.cause instanceof Error) scrub(error.cause, token, depth + 1);
  if (error instanceof AggregateError) {
    for (const inner of error.errors) if (inner instanceof Error) scrub(inner, token, depth + 1);
  }
  return error;
}
