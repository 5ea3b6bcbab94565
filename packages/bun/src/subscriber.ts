import type { ScriptRunner } from "@redlock/core";
import { createReleaseListeners } from "@redlock/core/adapter";
import type { BunMessageListener, BunRedisClient, BunRedisSubscriber } from "./client";

/** Release announcements for one client, and how to stop listening. */
export interface ReleaseSubscriber {
  /** Absent when the client cannot open a second connection (no `duplicate()`). */
  readonly onRelease?: ScriptRunner["onRelease"];
  /** Close the pub/sub connection, if one is open. */
  close(): Promise<void>;
}

/**
 * Release announcements on a second connection (`client.duplicate()`), opened when the first
 * channel is subscribed and closed when the last one is unsubscribed: an open Bun client keeps
 * the process alive, and nothing tells the runner when the application closes its client.
 * After a reconnect the channels are subscribed again (Bun does not do it by itself).
 */
export function releaseSubscriber(client: BunRedisClient): ReleaseSubscriber {
  let opened: Promise<BunRedisSubscriber> | undefined;
  let closed = false;
  /** The subscribed channels, each with the listener it was subscribed with. */
  const active = new Map<string, BunMessageListener>();

  const open = (): Promise<BunRedisSubscriber> => {
    if (opened) return opened;
    if (closed && !client.connected) return Promise.reject(new Error("client closed by quit()"));
    const own = (client.duplicate as () => Promise<BunRedisSubscriber>)().then((subscriber) => {
      let connected = subscriber.connected;
      subscriber.onconnect = () => {
        if (connected) resubscribe(subscriber);
        connected = true;
      };
      return subscriber;
    });
    own.catch(() => {
      if (opened === own) opened = undefined;
    });
    opened = own;
    return own;
  };

  /** Subscribe every active channel again on a connection that came back without them. */
  const resubscribe = (subscriber: BunRedisSubscriber) => {
    for (const [channel, listener] of active) {
      void subscriber
        .unsubscribe(channel, listener)
        .then(() =>
          active.get(channel) === listener ? subscriber.subscribe(channel, listener) : 0,
        )
        .catch(() => {});
    }
  };

  /** Close the connection once no channel is subscribed or being subscribed. */
  const closeIfIdle = async () => {
    const current = opened;
    if (active.size > 0 || !current) return;
    opened = undefined;
    (await current).close();
  };

  const releases = createReleaseListeners({
    subscribe: async (channel) => {
      const listener: BunMessageListener = () => releases.dispatch(channel);
      active.set(channel, listener);
      try {
        await (await open()).subscribe(channel, listener);
      } catch (error) {
        if (active.get(channel) === listener) active.delete(channel);
        await closeIfIdle().catch(() => {});
        throw error;
      }
    },
    unsubscribe: async (channel) => {
      const listener = active.get(channel);
      active.delete(channel);
      if (active.size === 0) return closeIfIdle();
      if (listener && opened) await (await opened).unsubscribe(channel, listener);
    },
  });

  return {
    ...(typeof client.duplicate === "function" ? { onRelease: releases.onRelease } : {}),
    async close() {
      const current = opened;
      opened = undefined;
      closed = true;
      active.clear();
      await current?.then((subscriber) => subscriber.close()).catch(() => {});
    },
  };
}
