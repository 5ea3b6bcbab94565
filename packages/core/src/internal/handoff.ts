import type { Clock } from "../clock";
import type { ScriptRunner } from "../script-runner";
import { quorum } from "../validity";
import { setTimer } from "./timers";

/** One pending acquisition, queued on each of its keys until it ends. */
export interface Waiter {
  readonly keys: readonly string[];
  /** Nodes whose release announcement arrived since the waiter's last attempt began. */
  seen: Set<number>;
  /** Set while the waiter sleeps; calling it wakes the waiter. */
  wake: (() => void) | undefined;
}

/** Why a {@link Handoff.sleep} ended. */
export type WakeReason = "timer" | "announced";

type Off = () => Promise<void>;

/** Stands for "this node is not listening" among the unsubscribe functions. */
const NONE: Off = async () => {};

interface KeyState {
  readonly queue: Waiter[];
  /** Each resolves with one unsubscribe function per node (NONE where subscribing failed). */
  readonly subscriptions: Promise<Off[]>[];
  /** Nodes known to be listening for this key. */
  listening: number;
  /** A re-subscription is under way. */
  refreshing: boolean;
  /**
   * This process released the key while others here waited for it: until the first in line has
   * tried, newcomers hold back so the releaser cannot take the lock straight back.
   */
  handingOff: boolean;
  /** Newcomers holding back during a hand-off; each is called when it ends (`true`: taken). */
  readonly gate: Set<(taken: boolean) => void>;
  /** When this process began waiting for its next turn on the key (see `waited`). */
  since: number;
}

/**
 * Wakes waiters when a lock is released, so that they try at once instead of at their next
 * scheduled retry.
 *
 * The release script publishes on `redlock:released:<key>`; this instance listens on every node
 * that can (runners with `onRelease`) while someone in this process waits for the key. Per
 * key, waiters queue first come, first served: only the head is woken, once a quorum of nodes
 * announced the release, so one release costs one attempt per waiting process, not one per
 * waiter. Announcements only bring attempts forward: every waiter still tries on its own retry
 * schedule, and a lost announcement costs nothing but that.
 */
export class Handoff {
  readonly #subscribers: { readonly runner: ScriptRunner; readonly index: number }[];
  readonly #threshold: number;
  readonly #keys = new Map<string, KeyState>();
  readonly #clock: Clock;
  readonly #readyWithin: number;

  /** @param readyWithin ms a node may take to confirm a subscription (the node timeout) */
  constructor(runners: readonly ScriptRunner[], clock: Clock, readyWithin: number) {
    this.#readyWithin = readyWithin;
    this.#subscribers = runners.flatMap((runner, index) =>
      typeof runner.onRelease === "function" ? [{ runner, index }] : [],
    );
    this.#threshold = quorum(runners.length);
    this.#clock = clock;
  }

  /** Can releases be heard from enough nodes to be worth listening for? */
  get enabled(): boolean {
    return this.#subscribers.length >= this.#threshold;
  }

  /**
   * Queue a waiter on its keys and start listening for their releases. The waiter is queued at
   * once; announcements are heard once the subscriptions are active (see {@link canHear}).
   */
  enter(keys: readonly string[]): Waiter {
    const waiter: Waiter = { keys, seen: new Set(), wake: undefined };
    for (const key of keys) {
      let state = this.#keys.get(key);
      if (!state) {
        state = {
          queue: [],
          subscriptions: [],
          listening: 0,
          refreshing: false,
          handingOff: false,
          gate: new Set(),
          since: this.#clock.now(),
        };
        this.#keys.set(key, state);
        if (this.enabled) void this.#listen(state, key);
      }
      state.queue.push(waiter);
    }
    return waiter;
  }

  /**
   * Remove a waiter; a key nobody waits for any more is unsubscribed. When a waiter that was
   * first in line gives up without the lock, the next one is woken: no release will come for it.
   */
  leave(waiter: Waiter, acquired: boolean): void {
    waiter.wake = undefined;
    for (const key of waiter.keys) {
      const state = this.#keys.get(key);
      if (!state) continue;
      const at = state.queue.indexOf(waiter);
      if (at >= 0) state.queue.splice(at, 1);
      if (at === 0) {
        this.#endHandoff(state);
        if (!acquired) state.queue[0]?.wake?.();
      }
      if (state.queue.length === 0) {
        this.#keys.delete(key);
        this.#endHandoff(state);
        void Promise.all(state.subscriptions)
          .then((all) => all.flat())
          .then((unsubscribes) => Promise.allSettled(unsubscribes.map((off) => off())));
      }
    }
  }

  /** Does anyone here but `waiter` wait for one of `keys`? */
  othersWait(keys: readonly string[], waiter: Waiter | undefined): boolean {
    if (this.#keys.size === 0) return false;
    for (const key of keys) {
      const queue = this.#keys.get(key)?.queue;
      if (queue && (queue.length > 1 || (queue.length === 1 && queue[0] !== waiter))) return true;
    }
    return false;
  }

  /**
   * How long this process has been waiting for its next turn on `keys` (the first of them): since
   * its first waiter queued, or since the last grant here while others waited. Nodes order their
   * waiting lines by it.
   */
  waited(keys: readonly string[]): number {
    const state = this.#keys.get(keys[0] as string);
    return state ? Math.max(0, Math.floor(this.#clock.now() - state.since)) : 0;
  }

  /** A waiter here got `keys`: the others here wait for the next turn from now on. */
  served(keys: readonly string[]): void {
    if (this.#keys.size === 0) return;
    for (const key of keys) {
      const state = this.#keys.get(key);
      if (state) state.since = this.#clock.now();
    }
  }

  /** Call right before each attempt: announcements count from here on. */
  attempting(waiter: Waiter): void {
    waiter.seen = new Set();
  }

  /**
   * Call after each attempt: a hand-off to this waiter, if one was under way, is over; `taken`
   * says whether the waiter got the lock.
   */
  attempted(waiter: Waiter, taken = false): void {
    for (const key of waiter.keys) {
      const state = this.#keys.get(key);
      if (state?.queue[0] === waiter) this.#endHandoff(state, taken);
    }
  }

  /**
   * This process is about to release `keys`. Where others here wait for one of them, hold
   * newcomers back until the first in line has tried: the releaser must not win it back.
   */
  releasing(keys: readonly string[]): boolean {
    let waited = false;
    for (const key of keys) {
      const state = this.#keys.get(key);
      if (state && state.queue.length > 0) {
        state.handingOff = true;
        waited = true;
      }
    }
    return waited;
  }

  /**
   * This process's release of `keys` went through on `node`: for the waiters here, it counts as
   * that node's announcement, heard without the pub/sub round trip. Their next attempt goes out
   * on the same connections as the release, so it reaches each node after the release.
   */
  releasedOn(keys: readonly string[], node: number): void {
    for (const key of keys) this.#announce(key, node);
  }

  /** Is a hand-off to a waiter here under way on one of `keys`? */
  handingOff(keys: readonly string[]): boolean {
    if (this.#keys.size === 0) return false;
    for (const key of keys) if (this.#keys.get(key)?.handingOff) return true;
    return false;
  }

  /**
   * For a newcomer: is a hand-off under way on one of these keys? If so, resolves when it ends
   * (with `true` when the waiter it went to took the lock, so a try now would fail) or when `ms`
   * pass (with `false`), or rejects when `signal` aborts. Resolves `false` at once when
   * no hand-off is under way, which is the common case: keys nobody here is handed are tried
   * at once, whoever else waits for them.
   */
  awaitHandoff(
    keys: readonly string[],
    ms: number,
    signal?: AbortSignal,
  ): Promise<boolean> | false {
    const states: KeyState[] = [];
    for (const key of keys) {
      const state = this.#keys.get(key);
      if (state?.handingOff) states.push(state);
    }
    if (states.length === 0) return false;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let pending = states.length;
      let takenSome = false;
      const done = () => {
        timer.cancel();
        signal?.removeEventListener("abort", onAbort);
        for (const state of states) state.gate.delete(open);
      };
      const open = (taken: boolean) => {
        takenSome ||= taken;
        if (--pending > 0) return;
        done();
        resolve(takenSome);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimer(this.#clock, ms, () => {
        done();
        resolve(false);
      });
      for (const state of states) state.gate.add(open);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Sleep until a quorum of nodes has announced a release of one of the waiter's keys since its
   * last attempt began (while it was first in line), or until `ms` pass, or until `signal`
   * aborts (then reject). An announcement that arrived during the attempt is not lost: the
   * sleep then ends at once.
   */
  sleep(waiter: Waiter, ms: number, signal?: AbortSignal): Promise<WakeReason> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (waiter.seen.size >= this.#threshold) return resolve("announced");
      const done = () => {
        timer.cancel();
        signal?.removeEventListener("abort", onAbort);
        waiter.wake = undefined;
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimer(this.#clock, ms, () => {
        done();
        resolve("timer");
      });
      waiter.wake = () => {
        done();
        resolve("announced");
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Will a release of any of the waiter's keys be heard from a quorum of nodes? */
  canHear(waiter: Waiter): boolean {
    return waiter.keys.every((key) => (this.#keys.get(key)?.listening ?? 0) >= this.#threshold);
  }

  /** Try again to listen on the nodes that could not be subscribed for the waiter's keys. */
  refresh(waiter: Waiter): void {
    for (const key of waiter.keys) {
      const state = this.#keys.get(key);
      if (!state || state.refreshing || state.listening >= this.#threshold) continue;
      state.refreshing = true;
      void this.#listen(state, key).finally(() => {
        state.refreshing = false;
      });
    }
  }

  /** Number of keys with waiters in this process (for tests and diagnostics). */
  get watchedKeys(): number {
    return this.#keys.size;
  }

  #endHandoff(state: KeyState, taken = false): void {
    if (!state.handingOff) return;
    state.handingOff = false;
    for (const open of [...state.gate]) open(taken);
  }

  /** Subscribe `key` on every node and record how many listen. */
  #listen(state: KeyState, key: string): Promise<Off[]> {
    const subscription = this.#subscribe(key);
    state.subscriptions.push(subscription);
    return subscription.then((offs) => {
      state.listening = Math.max(state.listening, offs.filter((off) => off !== NONE).length);
      return offs;
    });
  }

  /**
   * Listen on every node that can. A node whose `onRelease` throws, resolves with something
   * that is not a function, or takes longer than `readyWithin` ms counts as not listening; a
   * subscription confirmed after that is ended at once, so none outlives its wait.
   */
  #subscribe(key: string): Promise<Off[]> {
    return Promise.all(
      this.#subscribers.map(({ runner, index }) => {
        return new Promise<Off>((resolve) => {
          let late = false;
          const timer = setTimer(this.#clock, this.#readyWithin, () => {
            late = true;
            resolve(NONE);
          });
          const settle = (off: unknown) => {
            timer.cancel();
            const safe = typeof off === "function" ? safely(off as () => unknown) : NONE;
            if (late) void safe();
            else resolve(safe);
          };
          try {
            Promise.resolve(runner.onRelease?.(key, () => this.#announce(key, index))).then(
              settle,
              () => settle(undefined),
            );
          } catch {
            settle(undefined);
          }
        });
      }),
    );
  }

  #announce(key: string, node: number): void {
    const head = this.#keys.get(key)?.queue[0];
    if (!head) return;
    head.seen.add(node);
    if (head.wake && head.seen.size >= this.#threshold) head.wake();
  }
}

/** An unsubscribe function that never throws or rejects. */
function safely(off: () => unknown): () => Promise<void> {
  return async () => {
    try {
      await off();
    } catch {
      // Unsubscribing is best effort; the subscription dies with its connection anyway.
    }
  };
}
