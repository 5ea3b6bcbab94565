import { NodeError, NodeUnreachableError, type ScriptRunner } from "@redlock/core";
import { createReleaseListeners, sanitizeError } from "@redlock/core/adapter";
import { type GlideClientLike, type GlideConfig, glideConfig, QUIT_MESSAGE } from "./client";

/** A message as GLIDE hands it to a subscription callback (strings or `Buffer`s). */
interface PubSubMessage {
  readonly channel: unknown;
}

/** The static factory of the client's class: `GlideClient.createClient` or the cluster's. */
type CreateClient = (config: GlideConfig) => Promise<GlideClientLike>;

/** Release announcements for one client, and how to stop listening. */
export interface ReleaseSubscriber {
  readonly onRelease: NonNullable<ScriptRunner["onRelease"]>;
  /** Close the pub/sub client, if one is open; later `onRelease` calls reject. */
  close(): void;
}

/** The client's own `createClient`, when it can subscribe at run time (GLIDE 2.3 and later). */
function factoryOf(client: GlideClientLike): CreateClient | undefined {
  const create = (client.constructor as { createClient?: unknown } | undefined)?.createClient;
  if (typeof create !== "function" || typeof client.subscribe !== "function") return undefined;
  return (config) => create.call(client.constructor, config) as Promise<GlideClientLike>;
}

/**
 * The configuration of the pub/sub client: the client's own (addresses, credentials, TLS), with
 * a subscription callback and no channels yet. RESP3 (GLIDE's default) is required for a callback;
 * the client's own subscriptions and client-side cache are left out.
 */
function subscriberConfig(config: GlideConfig, onMessage: (message: PubSubMessage) => void) {
  const {
    protocol: _protocol,
    pubsubSubscriptions: _subscriptions,
    clientSideCache: _cache,
    ...own
  } = config;
  return { ...own, pubsubSubscriptions: { channelsAndPatterns: {}, callback: onMessage } };
}

/**
 * Release announcements on a second GLIDE client of the same class and configuration, opened when
 * the first listener arrives and closed when the last one leaves: an open GLIDE client keeps the
 * process alive, and nothing tells the runner that its client was closed. `undefined` when the
 * client cannot subscribe at run time (GLIDE before 2.3) or its configuration cannot be read.
 *
 * @param wait milliseconds to wait for the server to confirm a subscription; 0 waits for as
 *   long as it takes
 */
export function releaseSubscriber(
  client: GlideClientLike,
  name: string,
  wait: number,
): ReleaseSubscriber | undefined {
  const create = factoryOf(client);
  const config = glideConfig(client);
  if (!create || !config) return undefined;
  let closed = false;
  let subscriber: Promise<GlideClientLike> | undefined;
  const quitError = () => new NodeUnreachableError(name, QUIT_MESSAGE);
  const open = () => {
    if (closed) return Promise.reject(quitError());
    if (!subscriber) {
      const opening = create(
        subscriberConfig(config, (message) => releases.dispatch(String(message.channel))),
      );
      // A failed open is forgotten, so that the next listener tries again.
      opening.catch(() => {
        if (subscriber === opening) subscriber = undefined;
      });
      subscriber = opening;
    }
    return subscriber;
  };
  const shut = () => {
    const current = subscriber;
    subscriber = undefined;
    void current?.then((opened) => opened.close()).catch(() => {});
  };
  // Unsubscribe, then close the client once no listener is left (GLIDE drops a closed client's
  // connections only seconds later, hence the unsubscribe first).
  const drop = async (channel: string) => {
    try {
      await (await subscriber)?.unsubscribe?.([channel], wait);
    } finally {
      if (releases.size === 0) shut();
    }
  };
  const releases = createReleaseListeners({
    subscribe: async (channel) => {
      const opened = await open();
      await opened.subscribe?.([channel], wait).catch((error: unknown) => {
        // GLIDE keeps a subscription that timed out, and would make it later: drop it.
        void drop(channel).catch(() => {});
        throw error;
      });
    },
    unsubscribe: drop,
  });
  // GLIDE's error (a `TimeoutError` of the subscription, a `ClosingError` of a client that could
  // not connect) as the cause of a `NodeError` naming the node.
  const failed = (error: unknown) => {
    if (error instanceof NodeError) return error;
    const cause = sanitizeError(error);
    return new NodeError(name, `release subscription failed: ${cause.message}`, { cause });
  };
  return {
    onRelease: (key, listener) =>
      closed
        ? Promise.reject(quitError())
        : releases
            .onRelease(key, listener)
            .catch((error: unknown) => Promise.reject(failed(error))),
    close() {
      closed = true;
      shut();
    },
  };
}
