import { type Clock, systemClock } from "../clock";
import { NodeError, ScriptNotSupportedError } from "../errors";
import type { LockScript, RunOptions, ScriptRunner } from "../script-runner";
import { defaultScripts, releaseChannel } from "../scripts";
import { rwScripts } from "../scripts-rwlock";
import { semaphoreScripts } from "../scripts-semaphore";

/** Options of {@link MemoryRunner}. */
export interface MemoryRunnerOptions {
  /** Node name in errors and events. @default "memory-<n>" */
  readonly name?: string;
  /** Clock for key expiry and latency; share it with `Redlock`. @default systemClock */
  readonly clock?: Clock;
  /**
   * Offer `onRelease`, so waiters are woken by release announcements. Set `false` to model a
   * runner without pub/sub (such as a REST client), whose waiters poll.
   * @default true
   */
  readonly pubsub?: boolean;
}

/** Switches that make a {@link MemoryRunner} misbehave like a real node can. */
export interface MemoryFaults {
  /** Refuse every call at once, writing nothing (a stopped server). */
  down: boolean;
  /** Hold every call until `resume()`; queued calls then run in order (a SIGSTOPped server). */
  paused: boolean;
  /** Milliseconds before each call runs and replies (a slow network or server). */
  latency: number;
  /** Run this many next calls, then lose their replies (a connection cut after the write). */
  lostReplies: number;
  /** Drop published messages (a subscriber connection that lost them). */
  dropMessages: boolean;
}

interface LineEntry {
  readonly ticket: number;
  readonly deadline: number;
  readonly window: number;
}

interface WaitingLine {
  readonly waiters: Map<string, LineEntry>;
  turn: { readonly id: string; readonly until: number } | undefined;
}

interface Entry {
  value: string;
  expiresAt: number;
  /** A semaphore's permits (member → expiry), when the key holds one instead of a lock value. */
  permits?: Map<string, number>;
  /** A read-write lock's holders (field → expiry), when the key holds one. */
  fields?: Map<string, number>;
}

let counter = 0;

/** What a driver would have thrown; kept as the `cause` of the runner's `NodeError`. */
function driverError(code: string): Error {
  return Object.assign(new Error(`${code} (simulated by MemoryRunner)`), { code });
}

/**
 * An in-memory {@link ScriptRunner} that executes the built-in acquire, extend and release
 * scripts with Redis semantics, for fast tests of code that uses locks. It models the
 * `EVALSHA`-then-`EVAL` script cache and offers fault switches; custom scripts are refused with
 * a `ScriptNotSupportedError`. Not a substitute for tests against real Redis.
 */
export class MemoryRunner implements ScriptRunner {
  readonly name: string;
  /** Fault switches; change them at any time. */
  readonly faults: MemoryFaults = {
    down: false,
    paused: false,
    latency: 0,
    lostReplies: 0,
    dropMessages: false,
  };
  /** Call counters: every run, and the `NOSCRIPT` fallbacks among them. */
  readonly stats = { calls: 0, noscript: 0 };
  /**
   * How many replicas acknowledge writes, for code that uses `replicaSync`: `waitReplicas`
   * resolves with this (never more than asked for). Change it at any time.
   */
  replicas = 0;
  readonly #clock: Clock;
  readonly #store = new Map<string, Entry>();
  readonly #scriptCache = new Set<string>();
  #queue: (() => void)[] = [];
  readonly #channels = new Map<string, Set<() => void>>();
  /** Waiting lines, as the built-in scripts keep them in a hash beside each lock key. */
  readonly #lines = new Map<string, WaitingLine>();
  #lineStamp = 0;

  constructor(options: MemoryRunnerOptions = {}) {
    this.name = options.name ?? `memory-${++counter}`;
    this.#clock = options.clock ?? systemClock;
    if (options.pubsub !== false)
      this.onRelease = (key, listener) => this.#onRelease(key, listener);
  }

  run(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    _options?: RunOptions,
  ): Promise<unknown> {
    this.stats.calls++;
    if (this.faults.down) {
      return Promise.reject(
        new NodeError(this.name, "connection refused: the node is down", {
          cause: driverError("ECONNREFUSED"),
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const execute = () => {
        if (this.faults.down)
          return reject(
            new NodeError(this.name, "connection closed", { cause: driverError("ECONNRESET") }),
          );
        let reply: unknown;
        try {
          reply = this.#evalsha(script, [...keys], args.map(String));
        } catch (error) {
          return reject(error);
        }
        if (this.faults.lostReplies > 0) {
          this.faults.lostReplies--;
          return reject(
            new NodeError(this.name, "connection lost before the reply", {
              cause: driverError("ECONNRESET"),
            }),
          );
        }
        resolve(reply);
      };
      const delayed = () =>
        this.faults.latency > 0 ? this.#clock.setTimeout(execute, this.faults.latency) : execute();
      if (this.faults.paused) this.#queue.push(delayed);
      else delayed();
    });
  }

  /** Announce releases of a key to `listener` (see `ScriptRunner.onRelease`). */
  readonly onRelease?: (key: string, listener: () => void) => Promise<() => Promise<void>>;

  async #onRelease(key: string, listener: () => void): Promise<() => Promise<void>> {
    if (this.faults.down) throw new NodeError(this.name, "connection refused: the node is down");
    const channel = releaseChannel(key);
    let listeners = this.#channels.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#channels.set(channel, listeners);
    }
    const own = () => listener();
    listeners.add(own);
    return async () => {
      listeners.delete(own);
      if (listeners.size === 0 && this.#channels.get(channel) === listeners) {
        this.#channels.delete(channel);
      }
    };
  }

  /** Channels with at least one subscriber. */
  get subscriptions(): number {
    return this.#channels.size;
  }

  /** Freeze the node: calls wait until {@link MemoryRunner.resume}. */
  pause(): void {
    this.faults.paused = true;
  }

  /** Unfreeze the node and run the calls that queued up, in order. */
  resume(): void {
    this.faults.paused = false;
    const queued = this.#queue;
    this.#queue = [];
    for (const run of queued) run();
  }

  /** Forget cached scripts, as `SCRIPT FLUSH` does: the next call takes the `NOSCRIPT` path. */
  flushScripts(): void {
    this.#scriptCache.clear();
  }

  /** Delete every key, as `FLUSHALL` does (a restart without persistence). */
  flushAll(): void {
    this.#store.clear();
  }

  /** `WAIT` as a replica set of {@link MemoryRunner.replicas} replicas answers it, at once. */
  async waitReplicas(replicas: number): Promise<number> {
    if (this.faults.down) throw new NodeError(this.name, "connection refused: the node is down");
    return Math.min(replicas, this.replicas);
  }

  /** The value at `key`, or `undefined` if absent or expired. */
  get(key: string): string | undefined {
    return this.#live(key)?.value;
  }

  /** Remaining TTL in ms, `-2` if absent, like `PTTL`. */
  pttl(key: string): number {
    const entry = this.#live(key);
    if (!entry) return -2;
    if (entry.expiresAt === Number.POSITIVE_INFINITY) return -1;
    return Math.max(0, Math.ceil(entry.expiresAt - this.#clock.now()));
  }

  /** Write a key directly, for example to hold a resource under a foreign value. */
  set(key: string, value: string, ttlMs = 60_000): void {
    this.#store.set(key, { value, expiresAt: this.#clock.now() + ttlMs });
  }

  /** Live keys, for assertions. */
  keys(): string[] {
    return [...this.#store.keys()].filter((key) => this.#live(key));
  }

  #live(key: string): Entry | undefined {
    const entry = this.#store.get(key);
    if (entry && entry.expiresAt <= this.#clock.now()) {
      this.#store.delete(key);
      return undefined;
    }
    return entry;
  }

  /** `EVALSHA`, falling back to `EVAL` on `NOSCRIPT` as an adapter does. */
  #evalsha(script: LockScript, keys: string[], args: string[]): unknown {
    if (!this.#scriptCache.has(script.sha1)) {
      this.stats.noscript++;
      this.#scriptCache.add(script.sha1);
    }
    const [value = "", ttl = "0"] = args;
    switch (script.sha1) {
      case defaultScripts.acquireScript.sha1:
        return this.#acquireInLine(keys, args);
      case defaultScripts.extendScript.sha1:
        return this.#extend(keys, value, Number(ttl));
      case defaultScripts.releaseScript.sha1:
        return this.#releaseInLine(keys, args);
      case defaultScripts.acquireGuardedScript.sha1:
        return this.#acquireGuarded(keys, args);
      case defaultScripts.fenceScript.sha1:
        return this.#fence(keys, Number(value));
      case defaultScripts.adoptScript.sha1:
        return this.#adopt(keys, value);
      case defaultScripts.inspectScript.sha1:
        return keys.map((key) => {
          const entry = this.#live(key);
          if (!entry) return [0, 0, 0];
          if (entry.permits || entry.fields) {
            const mine =
              value !== "" &&
              (entry.permits?.has(`${value}:1`) ||
                entry.fields?.has(`r:${value}`) ||
                entry.fields?.has(`w:${value}`));
            return [2, this.pttl(key), mine ? 1 : 0];
          }
          return [1, this.pttl(key), value !== "" && entry.value === value ? 1 : 0];
        });
      case semaphoreScripts.acquire.sha1:
        return this.#semaphoreAcquire(keys[0] as string, args);
      case semaphoreScripts.extend.sha1:
        return this.#semaphoreExtend(keys[0] as string, args);
      case semaphoreScripts.release.sha1:
        return this.#semaphoreRelease(keys[0] as string, args);
      case rwScripts.read.sha1:
      case rwScripts.write.sha1:
        return this.#rwAcquire(keys[0] as string, args, script.sha1 === rwScripts.write.sha1);
      case rwScripts.extend.sha1:
        return this.#rwExtend(keys[0] as string, args);
      case rwScripts.release.sha1:
        return this.#rwRelease(keys[0] as string, args);
      default:
        throw new ScriptNotSupportedError(
          `MemoryRunner runs only the built-in acquire, extend and release scripts; ` +
            `the custom ${script.name} script needs a real Redis server.`,
        );
    }
  }

  #acquireInLine(keys: string[], args: string[]): number {
    const [value = "", ttl = "0", place] = args;
    let [id, checkin, window, stay, waited] = ["", "0", "0", "0", 0];
    let n = keys.length;
    if (place !== undefined) {
      // As on a server: a place that does not parse is an error reply, and nothing is written.
      const words = /^(\S*) (\d+) (\d+) ([01]) (\d+)$/.exec(place);
      if (!words || keys.length % 2 === 1) {
        throw new Error(`REDLOCK_BAD_ARGUMENT the waiting-line argument does not parse: ${place}`);
      }
      [id, checkin, window, stay] = words.slice(1, 5) as [string, string, string, string];
      waited = Number(words[5]);
      n = keys.length / 2;
    }
    const lines = keys.slice(n).map((key) => this.#waitingLine(key));
    const join = (left: number, back = false): number => {
      if (id !== "" && id !== "*") {
        const now = this.#clock.now();
        // Ordered by when the process began waiting; ties by arrival.
        const ticket = (now - (back ? 0 : waited)) * 1e6 + (++this.#lineStamp % 1e6);
        const deadline = now + Number(checkin);
        for (const line of lines)
          line.waiters.set(id, { ticket, deadline, window: Number(window) });
      }
      return left > 0 ? -left : 0;
    };
    const locks = keys.slice(0, n);
    for (const key of locks) {
      const entry = this.#live(key);
      if (entry && entry.value !== value) return join(Math.max(0, this.pttl(key)));
    }
    for (const line of id === "*" ? [] : lines) {
      const left = line.turn && line.turn.id !== id ? line.turn.until - this.#clock.now() : 0;
      if (left > 0) return join(Math.ceil(left));
    }
    for (const line of id === "*" ? [] : lines) {
      if (line.turn && (line.turn.id !== id || line.turn.until <= this.#clock.now())) {
        line.turn = undefined;
      }
      line.waiters.delete(id);
    }
    if (stay === "1") join(0, true);
    return this.#acquire(locks, value, Number(ttl));
  }

  #releaseInLine(keys: string[], args: string[]): number | [number, number, number] {
    const [value = "", count, undoing = ""] = args;
    if (count === undefined) return this.#release(keys, value);
    const n = Number(count);
    const result: [number, number, number] = [0, 0, 0];
    keys.slice(0, n).forEach((key, i) => {
      const [deleted, missing] = this.#release([key], value, false);
      result[0] += deleted;
      result[1] += missing;
      const line = this.#lines.get(keys[n + i] as string);
      // Like the script: only a key somebody waits for in line is announced.
      if (deleted === 0 || !line || (line.waiters.size === 0 && !line.turn)) return;
      result[2] = Math.max(result[2], this.#publish(releaseChannel(key)));
      const now = this.#clock.now();
      if (undoing !== "" && line.turn?.id === undoing && line.turn.until > now) return;
      let next: [string, LineEntry] | undefined;
      for (const [waiter, entry] of line.waiters) {
        if (entry.deadline <= now) line.waiters.delete(waiter);
        else if (!next || entry.ticket < next[1].ticket) next = [waiter, entry];
      }
      if (next) line.waiters.delete(next[0]);
      line.turn = next && { id: next[0], until: now + next[1].window };
    });
    return result[1] === 0 && result[2] === 0 ? result[0] : result;
  }

  #waitingLine(key: string): WaitingLine {
    let line = this.#lines.get(key);
    if (!line) {
      line = { waiters: new Map(), turn: undefined };
      this.#lines.set(key, line);
    }
    return line;
  }

  #acquire(keys: string[], value: string, ttl: number): number {
    for (const key of keys) {
      const entry = this.#live(key);
      if (entry && entry.value !== value) {
        const left = this.pttl(key);
        return left > 0 ? -left : 0;
      }
    }
    for (const key of keys) this.set(key, value, ttl);
    return keys.length;
  }

  #acquireGuarded(keys: string[], args: string[]): [number, number] {
    const [value = "", ttl = "0", count = "0", fencing = "0", guard = "0"] = args;
    const [firstLine = "0", id = "", checkin = "0", window = "0", stay = "0", waited = "0"] =
      args.slice(5);
    const n = Number(count);
    const period = Number(guard);
    if (period > 0) {
      const marker = keys[fencing === "1" ? 2 * n : n] as string;
      const now = Math.floor(this.#clock.now());
      const entry = this.#live(marker);
      this.#checkReserved(marker, entry);
      let born = Number(entry?.value);
      if (entry === undefined) {
        this.#store.set(marker, { value: String(now), expiresAt: Number.POSITIVE_INFINITY });
        born = now;
      }
      if (now - born < period) return [2, period - (now - born)];
    }
    const lockKeys = keys.slice(0, n);
    const lines = Number(firstLine) > 0 ? keys.slice(Number(firstLine) - 1) : [];
    const granted = this.#acquireInLine(
      [...lockKeys, ...lines],
      lines.length > 0
        ? [value, ttl, `${id} ${checkin} ${window} ${stay} ${waited}`]
        : [value, ttl],
    );
    if (granted !== n) return [0, Math.max(0, -granted)];
    let highest = 0;
    if (fencing === "1") {
      for (const key of keys.slice(n, 2 * n)) {
        const entry = this.#live(key);
        this.#checkReserved(key, entry);
        highest = Math.max(highest, Number(entry?.value ?? 0));
      }
    }
    return [1, highest];
  }

  /** Like the scripts: a reserved key holds digits and never expires, or it is not ours. */
  #checkReserved(key: string, entry: { value: string; expiresAt: number } | undefined): void {
    if (entry && !(/^\d+$/.test(entry.value) && entry.expiresAt === Number.POSITIVE_INFINITY)) {
      throw new Error(`REDLOCK_RESERVED_KEY ${key} is reserved but holds something else`);
    }
  }

  #fence(keys: string[], token: number): number {
    for (const key of keys) this.#checkReserved(key, this.#live(key));
    for (const key of keys) {
      if (Number(this.#live(key)?.value ?? 0) < token) {
        this.#store.set(key, { value: String(token), expiresAt: Number.POSITIVE_INFINITY });
      }
    }
    return keys.length;
  }

  /** Announce on `channel`; returns how many subscribers it reached, as PUBLISH does. */
  #publish(channel: string): number {
    const listeners = this.#channels.get(channel);
    if (!listeners || this.faults.down) return 0;
    if (this.faults.dropMessages) return listeners.size;
    // Delivered after the reply, as a separate push message would be.
    queueMicrotask(() => {
      for (const listener of [...listeners]) listener();
    });
    return listeners.size;
  }

  /** The key's semaphore with expired permits removed, or why there is none. */
  #permits(key: string): Entry | "none" | "other" {
    const entry = this.#live(key);
    if (!entry) return "none";
    if (!entry.permits) return "other";
    const now = this.#clock.now();
    for (const [member, expiresAt] of entry.permits) {
      if (expiresAt <= now) entry.permits.delete(member);
    }
    if (entry.permits.size === 0) {
      this.#store.delete(key);
      return "none";
    }
    return entry;
  }

  #semaphoreAcquire(key: string, args: string[]): [number, number] {
    const [value = "", ttl = "0", limit = "1", count = "1"] = args;
    const found = this.#permits(key);
    if (found === "other") return [0, Math.max(0, this.pttl(key))];
    const now = this.#clock.now();
    const entry: Entry =
      found === "none" ? { value: "", expiresAt: now, permits: new Map() } : found;
    const permits = entry.permits as Map<string, number>;
    if (!permits.has(`${value}:1`) && permits.size + Number(count) > Number(limit)) {
      return [0, Math.max(0, Math.ceil(Math.min(...permits.values()) - now))];
    }
    for (let i = 1; i <= Number(count); i++) permits.set(`${value}:${i}`, now + Number(ttl));
    entry.expiresAt = Math.max(...permits.values());
    this.#store.set(key, entry);
    return [1, 0];
  }

  #semaphoreExtend(key: string, args: string[]): number {
    const [value = "", ttl = "0", count = "1"] = args;
    const found = this.#permits(key);
    if (found === "other") return 0;
    if (found === "none" || !found.permits?.has(`${value}:1`)) return -1;
    const permits = found.permits;
    const expiresAt = this.#clock.now() + Number(ttl);
    for (let i = 1; i <= Number(count); i++) {
      if (permits.has(`${value}:${i}`)) permits.set(`${value}:${i}`, expiresAt);
    }
    found.expiresAt = Math.max(...permits.values());
    return 1;
  }

  #semaphoreRelease(key: string, args: string[]): [number, number, number] {
    const [value = "", count = "1"] = args;
    const found = this.#permits(key);
    if (found === "none") return [0, 1, 0];
    if (found === "other") return [0, 0, 0];
    const permits = found.permits as Map<string, number>;
    let removed = 0;
    for (let i = 1; i <= Number(count); i++) if (permits.delete(`${value}:${i}`)) removed++;
    if (removed === 0) return [0, 1, 0];
    if (permits.size === 0) this.#store.delete(key);
    else found.expiresAt = Math.max(...permits.values());
    return [1, 0, this.#publish(releaseChannel(key))];
  }

  /** The key's read-write lock with expired holders removed, or why there is none. */
  #holders(key: string): Entry | "none" | "other" {
    const entry = this.#live(key);
    if (!entry) return "none";
    if (!entry.fields) return "other";
    const now = this.#clock.now();
    for (const [field, expiresAt] of entry.fields) {
      if (expiresAt <= now) entry.fields.delete(field);
    }
    if (entry.fields.size === 0) {
      this.#store.delete(key);
      return "none";
    }
    return entry;
  }

  #rwAcquire(key: string, args: string[], write: boolean): [number, number] {
    const [value = "", ttl = "0", waiter = "", waitTtl = "0"] = args;
    const found = this.#holders(key);
    if (found === "other") return [0, Math.max(0, this.pttl(key))];
    const now = this.#clock.now();
    const entry: Entry =
      found === "none" ? { value: "", expiresAt: now, fields: new Map() } : found;
    const fields = entry.fields as Map<string, number>;
    const first = (sort: string) => {
      let earliest: number | undefined;
      for (const [field, expiresAt] of fields) {
        const own = field === `r:${value}` || field === `w:${value}` || field === `i:${waiter}`;
        if (!own && field[0] === sort && (earliest === undefined || expiresAt < earliest)) {
          earliest = expiresAt;
        }
      }
      return earliest;
    };
    const keep = () => {
      entry.expiresAt = Math.max(...fields.values());
      this.#store.set(key, entry);
    };
    const writer = first("w");
    if (!write) {
      const blocker = writer ?? first("i");
      if (blocker !== undefined) return [0, Math.ceil(blocker - now)];
      fields.set(`r:${value}`, now + Number(ttl));
      keep();
      return [1, 0];
    }
    if (writer !== undefined) return [0, Math.ceil(writer - now)];
    const reader = first("r");
    if (reader !== undefined) {
      fields.set(`i:${waiter}`, now + Number(waitTtl));
      keep();
      return [0, Math.ceil(reader - now)];
    }
    fields.delete(`i:${waiter}`);
    fields.set(`w:${value}`, now + Number(ttl));
    keep();
    return [1, 0];
  }

  #rwExtend(key: string, args: string[]): number {
    const [value = "", ttl = "0", sort = "r"] = args;
    const found = this.#holders(key);
    if (found === "none") return -1;
    if (found === "other") return 0;
    const fields = found.fields as Map<string, number>;
    if (!fields.has(`${sort}:${value}`)) return -1;
    fields.set(`${sort}:${value}`, this.#clock.now() + Number(ttl));
    found.expiresAt = Math.max(...fields.values());
    return 1;
  }

  #rwRelease(key: string, args: string[]): [number, number, number] {
    const [value = "", sort = "r"] = args;
    const found = this.#holders(key);
    if (found === "none") return [0, 1, 0];
    if (found === "other") return [0, 0, 0];
    const fields = found.fields as Map<string, number>;
    if (!fields.delete(`${sort}:${value}`)) return [0, 1, 0];
    if (fields.size === 0) this.#store.delete(key);
    else found.expiresAt = Math.max(...fields.values());
    return [1, 0, this.#publish(releaseChannel(key))];
  }

  #adopt(keys: string[], value: string): [number, number] {
    let least = -1;
    for (const key of keys) {
      const entry = this.#live(key);
      if (!entry) return [-1, 0];
      const ttl = this.pttl(key);
      if (entry.value !== value || ttl < 0) return [0, Math.max(0, ttl)];
      if (least < 0 || ttl < least) least = ttl;
    }
    return [1, least];
  }

  #extend(keys: string[], value: string, ttl: number): number {
    let missing = false;
    for (const key of keys) {
      const entry = this.#live(key);
      if (!entry) missing = true;
      else if (entry.value !== value) return 0;
    }
    if (missing) return -1;
    for (const key of keys) this.set(key, value, ttl);
    return keys.length;
  }

  #release(keys: string[], value: string, announce = true): [number, number, number] {
    let deleted = 0;
    let missing = 0;
    let heard = 0;
    for (const key of keys) {
      const entry = this.#live(key);
      if (!entry) missing++;
      else if (entry.value === value) {
        this.#store.delete(key);
        deleted++;
        if (announce) heard = Math.max(heard, this.#publish(releaseChannel(key)));
      }
    }
    return [deleted, missing, heard];
  }
}
