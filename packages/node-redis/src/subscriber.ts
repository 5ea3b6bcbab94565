import type { ScriptRunner } from "@redlock/core";
import { createReleaseListeners, type ReleaseTransport } from "@redlock/core/adapter";
import { closeClient, type NodeRedisClient, type NodeRedisSubscriber } from "./client";

/** Release announcements for one client, and how to stop listening. */
export interface ReleaseSubscriber {
  /** Absent when the client cannot open a second connection (no `duplicate()`). */
  readonly onRelease?: ScriptRunner["onRelease"];
  /** Close the pub/sub connection, if one was opened. */
  close(): Promise<void>;
}

/**
 * Release announcements on a second connection (`client.duplicate()`), opened when first
 * needed and closed with the client. `prefix` is the client's key prefix, which the server sees
 * in front of every key and so in every channel name.
 */
export function releaseSubscriber(client: NodeRedisClient, prefix: string): ReleaseSubscriber {
  let subscriber: Promise<NodeRedisSubscriber> | undefined;
  const connect = (): Promise<NodeRedisSubscriber> => {
    if (!subscriber) {
      const duplicate = client.duplicate?.() as NodeRedisSubscriber;
      duplicate.on("error", () => {});
      const own = duplicate.connect().then(() => duplicate);
      subscriber = own;
      // It lives as long as the client: closing the client lets the process exit.
      (client as { once?: (event: "end", listener: () => void) => unknown }).once?.("end", () => {
        if (subscriber === own) subscriber = undefined;
        void own.then(closeClient).catch(() => {});
      });
    }
    return subscriber;
  };
  const transport: ReleaseTransport = {
    subscribe: async (channel) =>
      (await connect()).subscribe(channel, () => releases.dispatch(channel)),
    unsubscribe: async (channel) => (await connect()).unsubscribe(channel),
  };
  const releases = createReleaseListeners(transport);
  return {
    ...(typeof client.duplicate === "function"
      ? {
          onRelease: (key: string, listener: () => void) =>
            releases.onRelease(prefix + key, listener),
        }
      : {}),
    async close() {
      const listening = subscriber;
      subscriber = undefined;
      await listening?.then(closeClient, () => {});
    },
  };
}
