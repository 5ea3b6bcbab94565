import { NodeError, NodeTimeoutError } from "../errors";
import type { ConnectionWatch } from "./connection";
import { sanitizeError } from "./sanitize";

/**
 * Does `error` say the node does not know the script's SHA-1? Every known wording counts:
 * Redis and Valkey's `NOSCRIPT No matching script…` (also behind a client's prefix such as
 * `Command failed: `), and clients that rename it, such as Valkey GLIDE's
 * `NoScriptError: No matching script`. Structural, so errors from another realm count too.
 */
export function isNoScriptError(error: unknown): boolean {
  if (typeof error !== "object" || error === null)
    return typeof error === "string" && NOSCRIPT.test(error);
  const { message, name } = error as { message?: unknown; name?: unknown };
  return (
    (typeof message === "string" && NOSCRIPT.test(message)) ||
    (typeof name === "string" && /^noscript/i.test(name))
  );
}

const NOSCRIPT = /\bNOSCRIPT\b|no matching script/i;

/** The two commands that run a script: by SHA-1, or with its source. */
export type ScriptCommand = "EVALSHA" | "EVAL";

/**
 * Send `EVALSHA`, and on a `NOSCRIPT` reply send `EVAL` once, unless `stopped()` says the caller
 * stopped waiting meanwhile (core's signal aborted): then the `NOSCRIPT` error is thrown and
 * nothing more is sent. A synchronous throw of `send` becomes a rejection.
 *
 * @param send sends the given command with the script's SHA-1 or source
 * @param stopped read only when `NOSCRIPT` arrives
 * @example
 * ```ts
 * evalShaOrEval(
 *   (command) => command === "EVALSHA"
 *     ? client.evalsha(script.sha1, keys.length, ...keys, ...args)
 *     : client.eval(script.source, keys.length, ...keys, ...args),
 *   () => options?.signal?.aborted === true,
 * );
 * ```
 */
export function evalShaOrEval<T>(
  send: (command: ScriptCommand) => Promise<T>,
  stopped: () => boolean = () => false,
): Promise<T> {
  return sendSafely(send, "EVALSHA").catch((error: unknown) => {
    if (!isNoScriptError(error) || stopped()) throw error;
    return sendSafely(send, "EVAL");
  });
}

/** `send(command)`, with a synchronous throw turned into a rejection. @internal */
export function sendSafely<T>(
  send: (command: ScriptCommand) => Promise<T>,
  command: ScriptCommand,
): Promise<T> {
  try {
    return Promise.resolve(send(command));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What the work of {@link raceReply} can read about its call. */
export interface RaceCall {
  /** `true` once the race settled: the caller has its answer, send nothing more. */
  readonly stopped: boolean;
  /**
   * Aborted when the race is lost (timeout, the caller's signal, a failed connection), for
   * drivers that cancel a command by signal. Made only when read.
   */
  readonly signal: AbortSignal;
}

/** Options of {@link raceReply}. */
export interface RaceOptions {
  /** The runner's name, for errors. */
  readonly name: string;
  /** Milliseconds before `NodeTimeoutError`; `Infinity` for none. */
  readonly timeout: number;
  /**
   * The caller's signal (core's `RunOptions.signal`). Once it aborts, the race rejects. When it
   * is given and `explicitTimeout` is not set, no timer runs: the caller bounds the call.
   */
  readonly signal?: AbortSignal | undefined;
  /** Run the timer even when a signal is given (the user set a timeout). */
  readonly explicitTimeout?: boolean;
  /** Reject as soon as the client reports the connection failed. */
  readonly connection?: ConnectionWatch | undefined;
  /**
   * Turn a rejection of the work into the error the race rejects with.
   * @default a `NodeError` with a sanitized copy of the error as `cause`
   */
  readonly failed?: (error: unknown) => NodeError;
  /**
   * Where the race keeps its reject function while it waits, so the runner can settle every
   * waiting call at once (on `quit()`).
   */
  readonly pending?: Set<(error: NodeError) => void>;
}

/**
 * Settle with the reply of `work`, unless the timeout passes, the caller's signal aborts, or the
 * connection fails first: then reject with a typed `NodeError` (`NodeTimeoutError`,
 * `NodeUnreachableError`) and let go of the reply when it comes. Everything the race set up
 * (timer, abort listener, connection watch) is removed when it settles, whichever way.
 */
export function raceReply<T>(
  work: (call: RaceCall) => Promise<T>,
  options: RaceOptions,
): Promise<T> {
  const { name, timeout, signal, connection, pending } = options;
  return new Promise<T>((resolve, reject) => {
    let stopped = false;
    let controller: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let untrack: (() => void) | undefined;
    const settle = () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      pending?.delete(fail);
      untrack?.();
    };
    const fail = (error: NodeError) => {
      if (stopped) return;
      settle();
      reject(error);
      controller?.abort(error);
    };
    const onAbort = () => {
      const reason: unknown = signal?.reason;
      fail(
        reason instanceof NodeError
          ? reason
          : new NodeError(name, "stopped waiting for a reply", { cause: reason }),
      );
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    pending?.add(fail);
    untrack = connection?.track(fail);
    if (timeout !== Number.POSITIVE_INFINITY && (!signal || options.explicitTimeout)) {
      timer = setTimeout(() => fail(new NodeTimeoutError(name, timeout)), timeout);
    }
    const call: RaceCall = {
      get stopped() {
        return stopped;
      },
      get signal() {
        controller ??= new AbortController();
        return controller.signal;
      },
    };
    let reply: Promise<T>;
    try {
      reply = work(call);
    } catch (error) {
      reply = Promise.reject(error);
    }
    reply.then(
      (value) => {
        if (stopped) return;
        settle();
        resolve(value);
      },
      (error: unknown) => {
        if (stopped) return;
        settle();
        reject(options.failed ? options.failed(error) : wrap(name, error));
      },
    );
  });
}

function wrap(name: string, error: unknown): NodeError {
  const cause = sanitizeError(error);
  return new NodeError(name, cause.message, { cause });
}
