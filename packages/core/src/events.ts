import type { NodeError } from "./errors";
import type { Lock } from "./lock";
import type { ReleaseResult } from "./release-result";

/** The events a `Redlock` emits, with their listener arguments. */
export interface RedlockEvents {
  /** A node failed an operation (error, timeout, bad reply). Never fatal; emitted for observability. */
  error: [error: NodeError];
  /** A lock was acquired. */
  acquired: [lock: Lock];
  /** A lock was extended; `lock` is the new lock, `previous` the one it replaces. */
  extended: [lock: Lock, previous: Lock];
  /** A lock was released (whatever the outcome). */
  released: [lock: Lock, result: ReleaseResult];
  /** A lock held by `using()` was lost: its validity ran out before an extension succeeded. */
  lost: [lock: Lock, error: Error];
}

/** A listener for event `E`; an async listener's rejection is ignored like a thrown error. */
export type RedlockListener<E extends keyof RedlockEvents> = (...args: RedlockEvents[E]) => void;

type ListenerMap = { [E in keyof RedlockEvents]?: Set<RedlockListener<E>> };

/**
 * A small typed event emitter built on no platform API. Listener errors are caught so that an
 * observer can never break a lock operation; an `error` event with no listener is simply dropped.
 */
export class TypedEmitter {
  #listeners: ListenerMap = {};

  /** Add a listener. @returns this, for chaining. */
  on<E extends keyof RedlockEvents>(event: E, listener: RedlockListener<E>): this {
    let set = this.#listeners[event] as Set<RedlockListener<E>> | undefined;
    if (!set) {
      set = new Set();
      (this.#listeners as Record<string, unknown>)[event] = set;
    }
    set.add(listener);
    return this;
  }

  /** Add a listener that is removed after its first call. */
  once<E extends keyof RedlockEvents>(event: E, listener: RedlockListener<E>): this {
    const wrapper: RedlockListener<E> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Remove a listener added with `on` (a `once` listener cannot be removed this way). */
  off<E extends keyof RedlockEvents>(event: E, listener: RedlockListener<E>): this {
    (this.#listeners[event] as Set<RedlockListener<E>> | undefined)?.delete(listener);
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount(event: keyof RedlockEvents): number {
    return this.#listeners[event]?.size ?? 0;
  }

  /** Call every listener of `event`. @returns whether there was any. */
  emit<E extends keyof RedlockEvents>(event: E, ...args: RedlockEvents[E]): boolean {
    const set = this.#listeners[event] as Set<RedlockListener<E>> | undefined;
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        const result: unknown = (listener as (...a: unknown[]) => unknown)(...args);
        // An async listener's rejection is dropped too, never left unhandled.
        if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
          (result as Promise<unknown>).then(undefined, () => {});
        }
      } catch {
        // An observer's failure must not change the outcome of a lock operation.
      }
    }
    return true;
  }
}
