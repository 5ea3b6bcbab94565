import { InvalidArgumentError, NodeError } from "@redlock/core";
import {
  createScriptRunner,
  type DriverRunner,
  type RunnerOptions,
  runnerSettings,
  sanitizeError,
} from "@redlock/core/adapter";
import {
  CLIENT_HINT,
  defaultName,
  type HttpDetails,
  isUpstashClient,
  tokenOf,
  type UpstashClient,
} from "./client";
import { IN_FLIGHT, orderedByValue } from "./ordered";
import { scrub } from "./redact";
import { releaseStreams, subscribeOf } from "./release-streams";

/** Options of {@link createUpstashRunner}. */
export interface UpstashRunnerOptions extends RunnerOptions {
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
  options?: UpstashRunnerOptions,
): DriverRunner {
  if (!isUpstashClient(client)) {
    throw new InvalidArgumentError("INVALID_RUNNER", "client", CLIENT_HINT);
  }
  const details = (client as HttpDetails).client;
  const token = tokenOf(details?.headers);
  const settings = runnerSettings(options, () => defaultName(details?.baseUrl, token), [
    "subscribe",
  ]);
  if (options?.subscribe !== undefined && typeof options.subscribe !== "boolean") {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.subscribe",
      "expected true or false.",
    );
  }
  // The client appends the whole request body ("command was: …"), which holds the lock value
  // and, for EVAL, the script source: causes are copies without it and without the token.
  const clean = (error: Error) => scrub(error, token);

  const ordered = orderedByValue();

  const subscribe = options?.subscribe === false ? undefined : subscribeOf(client);
  const streams =
    subscribe &&
    releaseStreams(subscribe, settings.name, settings.timeout, (error) => {
      const cause = clean(sanitizeError(error));
      return new NodeError(settings.name, cause.message, { cause });
    });

  const runner = createScriptRunner({
    settings,
    clean,
    send: (command, script, keys, args, call) =>
      ordered.send(script, args, call, () =>
        command === "EVALSHA"
          ? client.evalsha(script.sha1, [...keys], [...args])
          : client.eval(script.source, [...keys], [...args]),
      ),
    // A release goes out (EVAL fallback included) even once core stopped waiting: landing late
    // is harmless, and it may be what undoes an acquire that landed late.
    keepSending: (script) => script.name === "release",
    ...(streams ? { onRelease: streams.onRelease } : {}),
    // Aborts the release streams; resolves once every acquire, extend and release in flight has
    // settled, including releases still waiting for the request they undo.
    async quit() {
      streams?.close();
      await ordered.settled();
    },
  });
  IN_FLIGHT.set(runner, ordered.inFlight);
  return runner;
}
