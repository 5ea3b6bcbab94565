import type { LockScript, ScriptRunner } from "@redlock/core";
import type { RaceCall } from "@redlock/core/adapter";

/** Requests in flight by lock value, and a way to send in order. */
export interface OrderedRequests {
  /**
   * Send `request()` once this runner's earlier acquires, extends and releases with the same lock
   * value (ARGV[1]) have settled; other scripts go at once. An acquire or extend whose caller
   * stopped waiting before its turn is not sent; a release always is.
   */
  send(
    script: LockScript,
    args: readonly (string | number)[],
    call: RaceCall | undefined,
    request: () => Promise<unknown>,
  ): Promise<unknown>;
  /** Resolves once nothing is in flight, including requests queued behind others. */
  settled(): Promise<void>;
  readonly inFlight: ReadonlyMap<string, Promise<void>>;
}

/**
 * Separate HTTP requests are not ordered like commands on one connection, and a request given
 * up on may still run later. So a call waits for the requests still in flight with its lock
 * value: the release of an abandoned attempt never lands before the acquire it undoes. Each
 * value's entry settles after its latest request, then goes.
 */
export function orderedByValue(): OrderedRequests {
  const inFlight = new Map<string, Promise<void>>();
  return {
    inFlight,
    send(script, args, call, request) {
      const writes =
        script.name === "acquire" || script.name === "extend" || script.name === "release";
      const value = writes && args.length > 0 ? String(args[0]) : undefined;
      if (value === undefined) return request();
      const earlier = inFlight.get(value);
      const sent = earlier
        ? earlier.then(() =>
            call?.stopped && script.name !== "release" ? Promise.reject(NOT_SENT) : request(),
          )
        : request();
      const settled = sent.then(noop, noop);
      inFlight.set(value, settled);
      void settled.then(() => {
        if (inFlight.get(value) === settled) inFlight.delete(value);
      });
      return sent;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight.values());
    },
  };
}

/** Each runner's requests in flight, by lock value; read by tests. @internal */
export const IN_FLIGHT = new WeakMap<ScriptRunner, ReadonlyMap<string, Promise<void>>>();

const NOT_SENT = new Error("not sent: the caller stopped waiting");
const noop = () => {};
