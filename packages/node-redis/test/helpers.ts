import type { RedisNode } from "@redlock/testbed";
import { respCall } from "@redlock/testbed";
import * as redis6 from "redis";
import * as redis4 from "redis-4";
import * as redis5 from "redis-5";
import type { NodeRedisClient, NodeRedisCluster } from "../src";

/** One driver major with one protocol version. */
export interface Flavour {
  label: string;
  major: 4 | 5 | 6;
  /** `createClient()` of that major; extra options are passed through. */
  client(url: string, extra?: Record<string, unknown>): NodeRedisClient;
  cluster(urls: string[], extra?: Record<string, unknown>): NodeRedisCluster;
  /** The driver's server-error class. */
  ErrorReply: new (
    ...args: never[]
  ) => Error;
}

const noRetry = { reconnectStrategy: false as const, connectTimeout: 2000 };

function quiet<T extends { on(event: "error", listener: (error: Error) => void): unknown }>(
  client: T,
): T {
  client.on("error", () => {});
  return client;
}

const v4: Flavour = {
  label: "redis 4 (RESP2)",
  major: 4,
  client: (url, extra) => quiet(redis4.createClient({ url, socket: noRetry, ...extra })),
  cluster: (urls, extra) =>
    quiet(
      redis4.createCluster({
        rootNodes: urls.map((url) => ({ url })),
        defaults: { socket: noRetry },
        ...extra,
      }),
    ),
  ErrorReply: redis4.ErrorReply,
};

const v5 = (RESP: 2 | 3): Flavour => ({
  label: `redis 5 (RESP${RESP})`,
  major: 5,
  client: (url, extra) => quiet(redis5.createClient({ url, RESP, socket: noRetry, ...extra })),
  cluster: (urls, extra) =>
    quiet(
      redis5.createCluster({
        rootNodes: urls.map((url) => ({ url })),
        defaults: { socket: noRetry },
        RESP,
        ...extra,
      }),
    ),
  ErrorReply: redis5.ErrorReply,
});

const v6 = (RESP: 2 | 3): Flavour => ({
  label: `redis 6 (RESP${RESP})`,
  major: 6,
  client: (url, extra) => quiet(redis6.createClient({ url, RESP, socket: noRetry, ...extra })),
  cluster: (urls, extra) =>
    quiet(
      redis6.createCluster({
        rootNodes: urls.map((url) => ({ url })),
        defaults: { socket: noRetry },
        RESP,
        ...extra,
      }),
    ),
  ErrorReply: redis6.ErrorReply,
});

/** Every major and protocol the package declares: 4 (RESP2 only), 5 and 6 (RESP2 and RESP3). */
export const flavours: Flavour[] = [v4, v5(2), v5(3), v6(2), v6(3)];

/** Connect a client the way users must: `await client.connect()`. */
export async function connected<T extends NodeRedisClient | NodeRedisCluster>(
  client: T,
): Promise<T> {
  await (client as unknown as { connect(): Promise<unknown> }).connect();
  return client;
}

export const at = (node: RedisNode) => ({ host: node.host, port: node.port });

export async function flushAll(nodes: readonly RedisNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => respCall(at(node), "FLUSHALL")));
}

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * Records the timers started while it is installed and whether each was cleared or fired; with
 * `onlyMs`, only timers of that delay (the runner's own, not the driver's).
 */
export function trackTimers(onlyMs?: number): { pending(): number; restore(): void } {
  const live = new Set<unknown>();
  const set = jest.spyOn(globalThis, "setTimeout").mockImplementation(((
    fn: (...args: unknown[]) => void,
    ms?: number,
    ...rest: unknown[]
  ) => {
    const handle = realSetTimeout(
      (...args: unknown[]) => {
        live.delete(handle);
        fn(...args);
      },
      ms,
      ...rest,
    );
    if (onlyMs === undefined || ms === onlyMs) live.add(handle);
    return handle;
  }) as typeof setTimeout);
  const clear = jest.spyOn(globalThis, "clearTimeout").mockImplementation((handle) => {
    live.delete(handle);
    realClearTimeout(handle);
  });
  return {
    pending: () => live.size,
    restore: () => {
      set.mockRestore();
      clear.mockRestore();
    },
  };
}

/**
 * Register a test only for the driver majors that have the feature it covers (for example a
 * client option added in redis 5); other majors do not get the test at all.
 */
export function onlyWhen(
  applies: boolean,
): (name: string, fn: () => Promise<void>, timeout?: number) => void {
  return applies ? test : () => {};
}
