import { Cluster as Cluster6, Redis as Redis6 } from "ioredis";
import { Cluster as Cluster5, Redis as Redis5 } from "ioredis-5";
import { Cluster as ClusterValkey, Redis as RedisValkey } from "iovalkey";
import type { IoredisClient } from "../src";

/** What the tests need from a client beyond the runner's structural type. */
export interface TestClient extends IoredisClient {
  readonly status: string;
  disconnect(): void;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/** Options the tests override; by default a client never reconnects. */
export interface RedisOverrides {
  stringNumbers?: boolean;
  keyPrefix?: string;
  retryStrategy?: () => number | null;
  enableAutoPipelining?: boolean;
}

/** One ioredis major: how to open a standalone and a cluster client that never retry forever. */
export interface Driver {
  redis(url: string, options?: RedisOverrides): TestClient;
  cluster(startupNodes: { host: string; port: number }[], keyPrefix?: string): TestClient;
}

const opened = new Set<TestClient>();

function track<T extends TestClient & { on(event: "error", fn: () => void): unknown }>(
  client: T,
): T {
  client.on("error", () => {});
  opened.add(client);
  return client;
}

const standalone = {
  maxRetriesPerRequest: 1,
  retryStrategy: () => null,
  disconnectTimeout: 50,
};

const clusterOptions = {
  clusterRetryStrategy: () => null,
  redisOptions: { ...standalone },
};

export const drivers: [string, Driver][] = [
  [
    "ioredis 5",
    {
      redis: (url, options) => track(new Redis5(url, { ...standalone, ...options })),
      cluster: (nodes, keyPrefix) =>
        track(new Cluster5(nodes, keyPrefix ? { ...clusterOptions, keyPrefix } : clusterOptions)),
    },
  ],
  [
    "ioredis 6",
    {
      redis: (url, options) => track(new Redis6(url, { ...standalone, ...options })),
      cluster: (nodes, keyPrefix) =>
        track(new Cluster6(nodes, keyPrefix ? { ...clusterOptions, keyPrefix } : clusterOptions)),
    },
  ],
  [
    // iovalkey, the Valkey project's fork of ioredis, through the same runner, unchanged.
    "iovalkey",
    {
      redis: (url, options) => track(new RedisValkey(url, { ...standalone, ...options })),
      cluster: (nodes, keyPrefix) =>
        track(
          new ClusterValkey(nodes, keyPrefix ? { ...clusterOptions, keyPrefix } : clusterOptions),
        ),
    },
  ],
];

/** Disconnects every client the drivers opened. */
export function closeClients(): void {
  for (const client of opened) client.disconnect();
  opened.clear();
}

/** Resolves with the error `promise` rejects with; fails when it resolves. */
export function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );
}

/**
 * Records every `setTimeout` of `delay` ms made while it is installed, and which of them were
 * cleared or fired, so a test can prove that no such timer is left behind.
 */
export function watchTimers(delay: number) {
  const created = new Set<unknown>();
  const finished = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const setSpy = jest.spyOn(globalThis, "setTimeout").mockImplementation(((
    fn: () => void,
    ms?: number,
    ...rest: unknown[]
  ) => {
    if (ms !== delay) return realSet(fn, ms, ...rest);
    const handle: unknown = realSet(() => {
      finished.add(handle);
      fn();
    }, ms);
    created.add(handle);
    return handle;
  }) as typeof setTimeout);
  const clearSpy = jest.spyOn(globalThis, "clearTimeout").mockImplementation(((
    handle?: Parameters<typeof clearTimeout>[0],
  ) => {
    if (created.has(handle)) finished.add(handle);
    realClear(handle);
  }) as typeof clearTimeout);
  return {
    get created() {
      return created.size;
    },
    get pending() {
      return [...created].filter((h) => !finished.has(h)).length;
    },
    restore() {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}

/** Retries `check` every 20 ms until it stops throwing or `timeoutMs` passes. */
export async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
