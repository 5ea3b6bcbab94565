import { NodeError, type NodeUnreachableError } from "../errors";
import type { LockScript, RunOptions, ScriptRunner } from "../script-runner";
import {
  evalShaOrEval,
  isNoScriptError,
  type RaceCall,
  raceReply,
  type ScriptCommand,
  sendSafely,
} from "./call";
import type { ConnectionWatch } from "./connection";
import type { RunnerSettings } from "./options";
import { sanitizeError } from "./sanitize";

/**
 * What a driver gives {@link createScriptRunner}: only what is specific to it. The runner adds
 * the mechanics every adapter needs (reply timeout, core's signal, `EVALSHA` with the `EVAL`
 * fallback, error sanitizing, settling waiting calls on `quit()`).
 */
export interface ScriptDriver {
  /** Name and timeout, from {@link runnerSettings}. */
  readonly settings: RunnerSettings;
  /**
   * Send one command of a script call and resolve with the reply as the driver decodes it.
   * `command` is `"EVALSHA"` (send `script.sha1`) or `"EVAL"` (send `script.source`), followed by
   * the number of keys, the keys and the arguments. `call` is absent on the fast path (see
   * `ready`); when present, `call.signal` aborts once the runner stops waiting, for drivers that
   * cancel commands by signal.
   */
  send(
    command: ScriptCommand,
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    call: RaceCall | undefined,
  ): Promise<unknown>;
  /**
   * Is the client connected, so that a call core bounds can be written at once with nothing
   * tracked per call (no timer, no listener)? Omit for drivers without a connection state.
   */
  ready?(): boolean;
  /**
   * The failure that makes calls fail at once without being sent (a closed client, a refused
   * connection), or `undefined`. Called before each call, and with the driver's sanitized error
   * when a call failed, to tell "the client is closed" from a reply error.
   */
  unreachable?(cause?: Error): NodeUnreachableError | undefined;
  /** Fail waiting calls as soon as the connection fails (see `watchConnection`). */
  readonly connection?: ConnectionWatch;
  /** Turn the driver's reply into what core expects (integers as numbers, arrays as arrays). */
  decode?(reply: unknown): unknown;
  /** More redaction after `sanitizeError`, such as credentials the driver puts in messages. */
  clean?(error: Error): Error;
  /**
   * Scripts whose calls finish sending (the `EVAL` after `NOSCRIPT` included) even once the
   * runner stopped waiting. For transports without ordering, where a release must land to undo
   * an acquire that landed late. Default: none.
   */
  keepSending?(script: LockScript): boolean;
  /** Release announcements, passed through as the runner's `onRelease`. */
  readonly onRelease?: ScriptRunner["onRelease"];
  /** `WAIT`/`WAITAOF` on the scripts' connection, passed through as the runner's `waitReplicas`. */
  readonly waitReplicas?: ScriptRunner["waitReplicas"];
  /** Passed through as the runner's `waitingLines`. */
  readonly waitingLines?: boolean;
  /**
   * Close the client. `settled()` resolves once every call the runner still waits on has
   * settled. Calls still waiting when this resolves are rejected with a `NodeError`.
   */
  quit?(settled: () => Promise<void>): Promise<void>;
}

/** A runner made by {@link createScriptRunner}: always named, always closable. */
export interface DriverRunner extends ScriptRunner {
  readonly name: string;
  quit(): Promise<void>;
}

/**
 * Build a `ScriptRunner` from a driver's specifics. For adapter authors
 * (`@redlock/core/adapter`); every official adapter is made this way.
 *
 * Each call: fails at once when `unreachable()` says so; sends `EVALSHA`, then `EVAL` once on
 * `NOSCRIPT` unless core stopped waiting; rejects with a `NodeError` whose `cause` is a copy of
 * the driver's error without the call's arguments (lock values); decodes the reply. When core
 * bounds the call and `ready()` is true, nothing is tracked per call. Otherwise the reply races
 * the runner's timer (when the user set `timeout`, or when no signal is given), core's signal,
 * and connection failures.
 *
 * @example A runner over a raw RESP connection (`RespConnection` has `call(parts)` and `quit()`);
 * it passes the adapter conformance kit:
 * ```ts
 * export function createRespRunner(host: string, port: number, options?: RunnerOptions) {
 *   const connection = new RespConnection(host, port);
 *   const settings = runnerSettings(options, () => `redis://${host}:${port}`);
 *   let closed = false;
 *   return createScriptRunner({
 *     settings,
 *     send: (command, script, keys, args) =>
 *       connection.call([
 *         command,
 *         command === "EVAL" ? script.source : script.sha1,
 *         keys.length,
 *         ...keys,
 *         ...args,
 *       ]),
 *     // Calls after quit() fail at once instead of opening a new connection.
 *     unreachable: () =>
 *       closed ? new NodeUnreachableError(settings.name, "the runner was closed") : undefined,
 *     quit: () => {
 *       closed = true;
 *       return connection.quit();
 *     },
 *   });
 * }
 * ```
 */
export function createScriptRunner(driver: ScriptDriver): DriverRunner {
  const { name, timeout, explicitTimeout } = driver.settings;
  const pending = new Set<(error: NodeError) => void>();
  const inFlight = new Set<Promise<unknown>>();
  const decode = driver.decode;

  const failure = (args: readonly unknown[], error: unknown): NodeError => {
    if (error instanceof NodeError && error.node === name) return error;
    let cause = sanitizeError(error, args);
    if (driver.clean) cause = driver.clean(cause);
    return driver.unreachable?.(cause) ?? new NodeError(name, cause.message, { cause });
  };

  return {
    name,
    ...(driver.onRelease ? { onRelease: driver.onRelease } : {}),
    ...(driver.waitReplicas ? { waitReplicas: driver.waitReplicas } : {}),
    ...(driver.waitingLines === false ? { waitingLines: false } : {}),
    run(script, keys, args, options?: RunOptions) {
      const unreachable = driver.unreachable?.();
      if (unreachable) return Promise.reject(unreachable);
      if (options?.enforced && !explicitTimeout && driver.ready?.() === true) {
        // The common case: connected, and bounded by core's deadline. The command is written
        // now, so nothing is tracked per call: no timer, no abort listener. A connection lost
        // under it is reported when it is next used; core stops waiting at its deadline.
        // One promise and one closure on the way of a reply: the fallback is made only on a
        // rejection.
        let reply: Promise<unknown>;
        try {
          reply = driver.send("EVALSHA", script, keys, args, undefined);
        } catch (error) {
          reply = Promise.reject(error);
        }
        return reply.then(decode, (error: unknown) => {
          if (!isNoScriptError(error) || options.signal?.aborted) throw failure(args, error);
          return sendSafely(
            (command) => driver.send(command, script, keys, args, undefined),
            "EVAL",
          ).then(decode, (second: unknown) => {
            throw failure(args, second);
          });
        });
      }
      const failed = (error: unknown) => failure(args, error);
      const race = { name, timeout, explicitTimeout, failed, pending };
      const reply = raceReply(
        (call) =>
          evalShaOrEval(
            (command) => driver.send(command, script, keys, args, call),
            () => call.stopped && driver.keepSending?.(script) !== true,
          ).then(decode),
        { ...race, signal: options?.signal, connection: driver.connection },
      );
      inFlight.add(reply);
      const forget = () => inFlight.delete(reply);
      reply.then(forget, forget);
      return reply;
    },
    async quit() {
      try {
        await driver.quit?.(async () => {
          while (inFlight.size > 0) await Promise.allSettled(inFlight);
        });
      } catch (error) {
        const cause = sanitizeError(error);
        throw new NodeError(name, `quit failed: ${cause.message}`, { cause });
      } finally {
        const closedError = new NodeError(name, "client closed before a reply");
        for (const fail of [...pending]) fail(closedError);
      }
    },
  };
}

/**
 * The number of replicas that acknowledged, from a `WAIT` reply (an integer) or a `WAITAOF`
 * reply (`[local, replicas]`: 0 unless the primary's own append-only file has the write).
 * For adapter authors (`@redlock/core/adapter`).
 */
export function acknowledgedReplicas(reply: unknown, aof: boolean): number {
  const number = (value: unknown) => (typeof value === "string" ? Number(value) : value);
  if (!aof) {
    const count = number(reply);
    return typeof count === "number" && Number.isFinite(count) ? count : 0;
  }
  if (!Array.isArray(reply)) return 0;
  const [local, replicas] = reply.map(number);
  return typeof local === "number" && local >= 1 && typeof replicas === "number" ? replicas : 0;
}

/** The `WAIT` or `WAITAOF` command for `replicaSync`, as arguments. @internal */
export function waitCommand(replicas: number, timeout: number, aof: boolean): string[] {
  return aof
    ? ["WAITAOF", "1", String(replicas), String(timeout)]
    : ["WAIT", String(replicas), String(timeout)];
}
