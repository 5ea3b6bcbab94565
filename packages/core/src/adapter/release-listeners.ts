import { releaseChannel } from "../scripts";

/** How a runner subscribes its pub/sub connection; each channel is subscribed at most once. */
export interface ReleaseTransport {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/** Bookkeeping for `ScriptRunner.onRelease` over one pub/sub connection. */
export interface ReleaseListeners {
  /** Implements `ScriptRunner.onRelease`: `key` as the server sees it (with any client prefix). */
  onRelease(key: string, listener: () => void): Promise<() => Promise<void>>;
  /** Call for every message the connection receives. */
  dispatch(channel: string): void;
  /** Channels currently subscribed. */
  readonly size: number;
}

/**
 * Route release announcements from one pub/sub connection to many listeners, subscribing a
 * channel when its first listener arrives and unsubscribing when its last one leaves. For adapter
 * authors (`@redlock/core/adapter`).
 *
 * @example
 * ```ts
 * const subscriber = client.duplicate();
 * const releases = createReleaseListeners({
 *   subscribe: (channel) => subscriber.subscribe(channel),
 *   unsubscribe: (channel) => subscriber.unsubscribe(channel),
 * });
 * subscriber.on("message", (channel) => releases.dispatch(channel));
 * const runner = { name, run, onRelease: releases.onRelease };
 * ```
 */
export function createReleaseListeners(transport: ReleaseTransport): ReleaseListeners {
  const channels = new Map<string, { listeners: Set<() => void>; ready: Promise<unknown> }>();
  // Subscribe and unsubscribe calls for one channel run in order, so they never cross.
  const order = new Map<string, Promise<unknown>>();
  const enqueue = (channel: string, step: () => Promise<unknown>) => {
    const next = (order.get(channel) ?? Promise.resolve()).then(step, step);
    order.set(channel, next);
    void next.then(
      () => order.get(channel) === next && order.delete(channel),
      () => order.get(channel) === next && order.delete(channel),
    );
    return next;
  };

  return {
    async onRelease(key, listener) {
      const channel = releaseChannel(key);
      let entry = channels.get(channel);
      if (!entry) {
        const created = {
          listeners: new Set<() => void>(),
          ready: enqueue(channel, () => transport.subscribe(channel)),
        };
        // A failed subscription is forgotten, so the next listener subscribes again.
        created.ready.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, created);
        entry = created;
      }
      const own = () => listener();
      entry.listeners.add(own);
      try {
        await entry.ready;
      } catch (error) {
        entry.listeners.delete(own);
        throw error;
      }
      return async () => {
        const current = channels.get(channel);
        if (!current?.listeners.delete(own) || current.listeners.size > 0) return;
        channels.delete(channel);
        await enqueue(channel, () => transport.unsubscribe(channel)).catch(() => {});
      };
    },
    dispatch(channel) {
      const entry = channels.get(channel);
      if (!entry) return;
      for (const listener of [...entry.listeners]) listener();
    },
    get size() {
      return channels.size;
    },
  };
}
