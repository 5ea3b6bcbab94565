import type { Clock } from "../clock";
import type { ScriptRunner } from "../script-runner";
import { quorum } from "../validity";

/** One pending acquisition, queued on each of its keys until it ends. */
export interface Waiter {
  readonly keys: readonly string[];
  /** Nodes whose release announcement arrived since the waiter's last attempt began. */
  seen: Set<number>;
  /** Set while the waiter sleeps; calling it wakes the waiter. */
  wake: (() => void) | undefined;
}

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
}

/**
 * Wakes waiters when a lock is released instead of letting them poll.
 *
 * The release script publishes on `redlock:released:<key>`; this instance listens on every node
 * that can (runners with `onRelease`) while someone in this process waits for the key. Per
 * key, waiters queue first come, first served: only the head is woken, once a quorum of nodes
 * announced the release, so one release costs one attempt per waiting process, not one per
 * waiter. A lost announcement costs at most the sleep's timeout, which the caller bounds by the
 * holder's remaining TTL.
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

  /** Can releases be heard from enough nodes to be worth waiting for? */
  get enabled(): boolean {
    return this.#subscribers.length >= this.#threshold;
  }

  /** Queue a waiter on its keys and subscribe to them; resolves once subscriptions are active. */
  async enter(keys: readonly string[]): Promise<Waiter> {
    const waiter: Waiter = { keys, seen: new Set(), wake: undefined };
    const ready: Promise<unknown>[] = [];
    for (const key of keys) {
      let state = this.#keys.get(key);
      if (!state) {
        state = { queue: [], subscriptions: [], listening: 0, refreshing: false };
        this.#keys.set(key, state);
        ready.push(this.#listen(state, key));
      } else {
        ready.push(...state.subscriptions);
      }
      state.queue.push(waiter);
    }
    await Promise.all(ready);
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
      if (at === 0 && !acquired) state.queue[0]?.wake?.();
      if (state.queue.length === 0) {
        this.#keys.delete(key);
        void Promise.all(state.subscriptions)
          .then((all) => all.flat())
          .then((unsubscribes) => Promise.allSettled(unsubscribes.map((off) => off())));
      }
    }
  }

  /** Call right before each attempt: announcements count from here on. */
  attempting(waiter: Waiter): void {
    waiter.seen = new Set();
  }

  /**
   * Sleep until a quorum of nodes has announced a release of one of the waiter's keys since its
   * last attempt began (while it was first in line), or until `ms` pass, or until `signal`
   * aborts (then reject). An announcement that arrived during the attempt is not lost: the
   * sleep then ends at once.
   */
  sleep(waiter: Waiter, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (waiter.seen.size >= this.#threshold) return resolve();
      const done = () => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        waiter.wake = undefined;
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = this.#clock.setTimeout(() => {
        done();
        resolve();
      }, ms);
      waiter.wake = () => {
        done();
        resolve();
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

  /** Subscribe `key` on every node and record how many listen. */
  #listen(state: KeyState, key: string): Promise<Off[]> {
    const subscription = this.#subscribe(key);
    state.subscriptions.push(subscription);
    return subscription.then((offs) => {
      state.listening = Math.max(state.listening, offs.filter((off) => off !== NONE).length);
      return offs;
    });
  }

  /** Does anyone in this process already wait for one of these keys? */
  queued(keys: readonly string[]): boolean {
    for (const key of keys) if (this.#keys.has(key)) return true;
    return false;
  }

  /** Number of keys with waiters in this process (for tests and diagnostics). */
  get watchedKeys(): number {
    return this.#keys.size;
  }

  /**
   * Listen on every node that can. A node whose `onRelease` throws, resolves with something
   * that is not a function, or takes longer than `readyWithin` ms counts as not listening.
   */
  #subscribe(key: string): Promise<Off[]> {
    const none = NONE;
    return Promise.all(
      this.#subscribers.map(({ runner, index }) => {
        const subscribed = new Promise<Off>((resolve) => {
          const timer = this.#clock.setTimeout(() => resolve(none), this.#readyWithin);
          const settle = (off: unknown) => {
            this.#clock.clearTimeout(timer);
            resolve(typeof off === "function" ? safely(off as () => unknown) : none);
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
        return subscribed;
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
