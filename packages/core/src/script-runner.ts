/**
 * A Lua script as core hands it to a runner: its source and the SHA-1 that `EVALSHA` expects.
 */
export interface LockScript {
  /** Which lock operation this script performs, for logs and errors. */
  readonly name: "acquire" | "extend" | "release" | "fence" | "adopt" | "inspect";
  /** The Lua source, sent with `EVAL` when the node does not know the SHA-1 yet. */
  readonly source: string;
  /** Lower-case hex SHA-1 of `source`, sent with `EVALSHA`. */
  readonly sha1: string;
}

/** Per-call options core passes to {@link ScriptRunner.run}. */
export interface RunOptions {
  /**
   * Aborted when core stops waiting for this node (its per-node timeout). Once it has, send
   * nothing more for this call (such as an `EVAL` after `NOSCRIPT`).
   */
  readonly signal?: AbortSignal;
  /**
   * `true` when the caller stops waiting by itself once `signal` aborts, as core always does: the
   * runner then need not reject on abort, and may skip listening to `signal` (reading it only
   * where it decides whether to send more). Core makes the signal only when it is first read,
   * so a runner that never reads it costs no `AbortController`. When absent, reject promptly
   * once `signal` aborts.
   */
  readonly enforced?: boolean;
}

/**
 * The one contract between `@redlock/core` and a Redis driver: one runner per Redis node.
 *
 * A runner evaluates a Lua script on its node and resolves with the raw reply (integers as
 * numbers, bulk strings as strings, nil as `null`, arrays as arrays), or rejects with the
 * driver's error. It owns everything driver-specific: `EVALSHA` first and `EVAL` on `NOSCRIPT`,
 * reply decoding, reconnects. Core owns quorum, timing, retries and validity.
 *
 * Build one with `createScriptRunner` from `@redlock/core/adapter`, which adds every mechanic
 * to what is specific to the driver. This runner over a raw RESP connection passes the adapter
 * conformance kit (`examples/custom-adapter` in the repository):
 *
 * @example
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
export interface ScriptRunner {
  /**
   * A name that identifies this node (its address, without credentials), such as
   * `"redis://10.0.0.1:6379"`; shown in errors and events. Two runners with the same name are
   * refused as one node counted twice (see `allowDuplicateNodeNames`).
   */
  readonly name?: string;
  /**
   * Run `script` with `keys` as `KEYS` and `args` as `ARGV` on this node.
   * @returns the script's reply, undecoded beyond the driver's own decoding.
   */
  run(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    options?: RunOptions,
  ): Promise<unknown>;
  /**
   * Optional: call `listener` whenever `key` is released on this node, until the returned
   * function is called. The release script announces each deleted key with
   * `PUBLISH redlock:released:<key as the server sees it>` (see `releaseChannel`); a runner with
   * a pub/sub connection subscribes to that channel. With it, waiters learn of a release within a
   * round trip instead of polling. Resolve once the subscription is active.
   */
  onRelease?(key: string, listener: () => void): Promise<() => Promise<void>>;
  /**
   * Optional: wait until `replicas` replicas acknowledged the writes this runner's connection
   * made so far, at most `timeout` ms (`WAIT replicas timeout`, or with `aof` `WAITAOF 1 replicas
   * timeout`), on the connection the scripts run on. Resolves with the number of replicas that
   * acknowledged (with `aof`: 0 unless the primary's own append-only file has the write too).
   * Used by the `replicaSync` option.
   */
  waitReplicas?(replicas: number, timeout: number, aof: boolean): Promise<number>;
  /** Optional: close the underlying connections; called by `Redlock.quit()`. */
  quit?(): Promise<unknown>;
  /**
   * Optional: `false` when this node cannot keep waiting lines (see `waitingLineKey`) in the
   * lock key's cluster slot, as with a cluster client whose own key prefix has no `{hash tag}`
   * (see `prefixKeepsSlot`). A `Redlock` with such a node sends lock keys only: waiters then take
   * their chance when they try, as with custom scripts.
   */
  readonly waitingLines?: boolean;
}
