import type { ScriptRunner } from "@redlock/core";
import { FaultProxy } from "./fault-proxy";
import { type ResolvedRedis, resolveRedis } from "./resolve";
import { respCall } from "./resp";

/** What a conformance run needs from an adapter for one node. */
export interface ConformanceRunner {
  readonly runner: ScriptRunner;
  /** Close the client behind the runner. */
  close?(): Promise<unknown> | unknown;
}

/** Where an adapter's client should connect: a fault proxy in front of a real node. */
export interface ConformanceEndpoint {
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

/** Structural copy of `@redlock/test-suite`'s node shape (the test bed does not depend on it). */
export interface RedisConformanceNode {
  readonly runner: ScriptRunner;
  flushScripts(): Promise<void>;
  flushAll(): Promise<void>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
  pttl(key: string): Promise<number>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
}

/**
 * A conformance target over real Redis: nodes from {@link resolveRedis}, each behind a
 * {@link FaultProxy} the runner connects through (pause = blackhole, down = reset), and admin
 * commands sent straight to the node.
 */
export function redisConformanceTarget(
  name: string,
  makeRunner: (endpoint: ConformanceEndpoint) => Promise<ConformanceRunner> | ConformanceRunner,
) {
  let redis: ResolvedRedis | undefined;
  const proxies: FaultProxy[] = [];
  const runners: ConformanceRunner[] = [];
  return {
    name,
    async setup(count: number): Promise<RedisConformanceNode[]> {
      redis = await resolveRedis(count);
      const nodes: RedisConformanceNode[] = [];
      for (const endpoint of redis.endpoints) {
        const proxy = await FaultProxy.start({ host: endpoint.host, port: endpoint.port });
        proxies.push(proxy);
        const made = await makeRunner({ url: proxy.url, host: proxy.host, port: proxy.port });
        runners.push(made);
        const admin = (...args: (string | number)[]) =>
          respCall({ host: endpoint.host, port: endpoint.port }, ...args);
        nodes.push({
          runner: made.runner,
          flushScripts: async () => void (await admin("SCRIPT", "FLUSH")),
          flushAll: async () => void (await admin("FLUSHALL")),
          set: async (key, value, ttl) => void (await admin("SET", key, value, "PX", ttl)),
          get: async (key) => (await admin("GET", key)) as string | null,
          pttl: async (key) => (await admin("PTTL", key)) as number,
          pause: async () => proxy.blackhole(),
          resume: async () => proxy.pass(),
          down: async () => proxy.reset(),
          up: async () => proxy.pass(),
        });
      }
      return nodes;
    },
    async teardown(): Promise<void> {
      await Promise.allSettled(runners.map((made) => made.close?.()));
      await Promise.allSettled(proxies.map((proxy) => proxy.close()));
      await redis?.close();
    },
  };
}
