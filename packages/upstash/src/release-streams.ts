import { NodeError, NodeTimeoutError } from "@redlock/core";
import { createReleaseListeners } from "@redlock/core/adapter";
import type { UpstashClient } from "./client";

/** What `redis.subscribe()` returns, as far as the runner uses it. */
interface UpstashSubscriber {
  on(type: "subscribe" | "message" | "error", listener: (event: unknown) => void): void;
  unsubscribe(): Promise<void>;
}

type Subscribe = (channels: string[]) => UpstashSubscriber;

/** The client's `subscribe()`, where it has one. */
export function subscribeOf(client: UpstashClient): Subscribe | undefined {
  // With auto-pipelining the client is a proxy that hands out `subscribe` itself: it is no
  // pipeline command.
  const subscribe = (client as { subscribe?: unknown }).subscribe;
  if (typeof subscribe !== "function") return undefined;
  return (channels) => subscribe.call(client, channels) as UpstashSubscriber;
}

/** `onRelease` over release streams, and `close` for `quit()`. */
export interface ReleaseStreams {
  onRelease(key: string, listener: () => void): Promise<() => Promise<void>>;
  close(): void;
}

/**
 * Release announcements through the client's own pub/sub: one `redis.subscribe()` stream per
 * channel, opened for its first listener and aborted after its last one (the bookkeeping is
 * core's `createReleaseListeners`). A channel counts as subscribed once the server's
 * `subscribe,<channel>,<count>` event arrived, within `timeout` ms.
 */
export function releaseStreams(
  subscribe: Subscribe,
  name: string,
  timeout: number,
  fail: (error: unknown) => NodeError,
): ReleaseStreams {
  // `close()` ends a generation: its streams are aborted and its confirmations given up on;
  // listeners that come later subscribe again in the next one, on streams of their own.
  const generation = () => {
    const open = new Map<string, UpstashSubscriber>();
    const confirming = new Set<(error: NodeError) => void>();
    const releases = createReleaseListeners({
      subscribe: (channel) =>
        new Promise<void>((resolve, reject) => {
          if (/[\r\n]/.test(channel)) {
            reject(new NodeError(name, LINE_BREAK));
            return;
          }
          let subscriber: UpstashSubscriber;
          try {
            subscriber = subscribe([pathSegment(channel)]);
          } catch (error) {
            reject(fail(error));
            return;
          }
          if (
            typeof subscriber?.on !== "function" ||
            typeof subscriber.unsubscribe !== "function"
          ) {
            reject(new NodeError(name, NO_SUBSCRIBER));
            return;
          }
          let done = false;
          const settle = (error?: NodeError) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            confirming.delete(settle);
            if (!error) {
              open.set(channel, subscriber);
              resolve();
              return;
            }
            stop(subscriber);
            reject(error);
          };
          const timer = setTimeout(() => settle(new NodeTimeoutError(name, timeout)), timeout);
          confirming.add(settle);
          subscriber.on("subscribe", () => settle());
          subscriber.on("error", (error) => settle(fail(error)));
          subscriber.on("message", () => releases.dispatch(channel));
        }),
      unsubscribe: async (channel) => {
        const subscriber = open.get(channel);
        open.delete(channel);
        await subscriber?.unsubscribe();
      },
    });
    const close = () => {
      for (const settle of [...confirming]) settle(new NodeError(name, CLOSED));
      for (const subscriber of open.values()) stop(subscriber);
      open.clear();
    };
    return { releases, close };
  };

  let current = generation();
  return {
    onRelease: (key, listener) => current.releases.onRelease(key, listener),
    close() {
      const ended = current;
      current = generation();
      ended.close();
    },
  };
}

/** Abort a subscriber's stream; never throws. */
function stop(subscriber: UpstashSubscriber): void {
  try {
    subscriber.unsubscribe().catch(noop);
  } catch {
    // Its stream ends with the process anyway.
  }
}

const NO_SUBSCRIBER = "the client's subscribe() returned no subscriber";
const LINE_BREAK = "cannot listen for releases of a key with a line break (one event is one line)";
const CLOSED = "the runner was closed before the subscription was confirmed";

/**
 * `channel` as one path segment of the stream's URL: the client puts it there as it is, so the
 * characters that would end the segment or start an escape are percent-encoded.
 */
function pathSegment(channel: string): string {
  return channel.replace(/[%/\\?#]/g, (character) => encodeURIComponent(character));
}

const noop = () => {};
