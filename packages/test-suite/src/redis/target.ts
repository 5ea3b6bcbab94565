import type { ScriptRunner } from "@redlock/core";
import type {
  ClusterTarget,
  ConformanceCluster,
  ConformanceNode,
  ConformanceTarget,
  OpenedRunner,
} from "../types";
import { findRedisServer } from "./binary";
import { type RedisCluster, startCluster } from "./cluster";
import { type FaultMode, FaultProxy } from "./fault-proxy";
import {
  type RedisEndpoint,
  type ResolvedRedis,
  type ResolveRedisOptions,
  redisUrlsFromEnv,
  resolveRedis,
} from "./resolve";
import { type RespCallOptions, type RespValue, respCall } from "./resp";

/** Where a runner under test connects: the fault proxy in front of a node, or a cluster node. */
export interface RedisTargetEndpoint {
  /** `redis://host:port`, with `user:password@` when the server needs them. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
}

/** What a runner factory returns: the runner under test, and how to close what it opened. */
export interface RedisTargetRunner {
  readonly runner: ScriptRunner;
  /** Close the client behind the runner; called at teardown, even after the suite quit it. */
  close?(): unknown;
  /**
   * How many connections the runner holds open, for the quit group. By default those open
   * through the fault proxy in front of its node; give your own when the runner reaches the node
   * through something else, such as a REST bridge.
   */
  openConnections?(): number | Promise<number>;
}

/** Builds the runner under test for one endpoint. */
export type MakeRunner = (
  endpoint: RedisTargetEndpoint,
) => Promise<RedisTargetRunner> | RedisTargetRunner;

/** Builds a runner over a Redis Cluster client from the cluster's startup nodes. */
export type MakeClusterRunner = (
  startupNodes: readonly RedisTargetEndpoint[],
) => Promise<RedisTargetRunner> | RedisTargetRunner;

/** Options of {@link redisTarget}: those of the spawned nodes, and the cluster. */
export interface RedisTargetOptions extends ResolveRedisOptions {
  /**
   * Also run the cluster routing group: the target starts a local Redis Cluster (from
   * `redis-server`; not with `REDIS_URLS`) and builds its runner with this function.
   */
  cluster?: MakeClusterRunner;
  /** Masters of that cluster. @default 3 */
  clusterMasters?: number;
}

/** The resources of one target, closed by its teardown. */
interface Opened {
  readonly runners: RedisTargetRunner[];
  readonly proxies: FaultProxy[];
}

/**
 * A conformance target over real Redis. Its nodes come from `REDIS_URLS` (comma-separated
 * `redis://` URLs of servers the suite may flush) or are `redis-server` processes started on free
 * loopback ports. Each node sits behind a {@link FaultProxy} that the runner connects through, so
 * the suite can pause it (requests held unanswered), take it down (connections reset) and bring
 * it back; administration commands go straight to the node. With `options.cluster`, the target
 * also starts a local Redis Cluster for the cluster routing group.
 *
 * @example
 * ```ts
 * adapterConformanceSuite(
 *   { describe, it, expect, beforeAll, afterAll, beforeEach },
 *   redisTarget("my adapter", ({ url }) => {
 *     const client = new MyClient(url);
 *     return { runner: createMyRunner(client), close: () => client.close() };
 *   }),
 * );
 * ```
 */
export function redisTarget(
  name: string,
  makeRunner: MakeRunner,
  options: RedisTargetOptions = {},
): ConformanceTarget {
  const { cluster, clusterMasters = 3, ...resolveOptions } = options;
  const opened: Opened = { runners: [], proxies: [] };
  let redis: ResolvedRedis | undefined;
  const unavailable = cluster ? clusterUnavailable() : undefined;
  const clusterPart =
    cluster && !unavailable ? clusterTarget(cluster, clusterMasters, options) : undefined;
  return {
    name,
    async setup(count: number): Promise<ConformanceNode[]> {
      redis = await resolveRedis(count, resolveOptions);
      const nodes: ConformanceNode[] = [];
      for (const endpoint of redis.endpoints) {
        nodes.push(await redisNode(endpoint, makeRunner, opened));
      }
      return nodes;
    },
    async teardown(): Promise<void> {
      await closeRunners(opened.runners.splice(0));
      await Promise.allSettled(opened.proxies.splice(0).map((proxy) => proxy.close()));
      await redis?.close();
      await clusterPart?.teardown();
    },
    ...(unavailable ? { unavailable: { cluster: unavailable } } : {}),
    ...(clusterPart ? { cluster: clusterPart } : {}),
  };
}

/** Why no local cluster can be started, or undefined when one can. */
function clusterUnavailable(): string | undefined {
  if (redisUrlsFromEnv()) {
    return "REDIS_URLS is set, and the cluster is started only from a local redis-server";
  }
  try {
    return findRedisServer()
      ? undefined
      : "redis-server not found on PATH (nor REDIS_SERVER_BIN) to start a cluster";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Close each runner's client, whether or not the suite quit it already. */
async function closeRunners(runners: readonly RedisTargetRunner[]): Promise<void> {
  await Promise.allSettled(runners.map(async (made) => made.close?.()));
}

/** How to reach `endpoint` directly, with its credentials. */
function admin(endpoint: RedisEndpoint): RespCallOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
    ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
  };
}

/** The endpoint a runner sees: `proxy`'s address, with the node's credentials. */
function proxied(endpoint: RedisEndpoint, proxy: FaultProxy): RedisTargetEndpoint {
  const { username, password } = endpoint;
  const user =
    password === undefined
      ? ""
      : `${encodeURIComponent(username ?? "")}:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${user}${proxy.host}:${proxy.port}`,
    host: proxy.host,
    port: proxy.port,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/**
 * One node: a runner made through a fault proxy, admin commands sent straight to the node, and
 * fault controls that switch every proxy of the node (those of opened runners too).
 */
async function redisNode(
  endpoint: RedisEndpoint,
  makeRunner: MakeRunner,
  opened: Opened,
): Promise<ConformanceNode> {
  if (endpoint.url.startsWith("rediss:")) {
    throw new Error(
      `${endpoint.url}: TLS (rediss://) is not supported; the suite's direct connection speaks plain RESP`,
    );
  }
  const proxies: FaultProxy[] = [];
  let mode: FaultMode = "pass";
  const connect = async () => {
    const proxy = await FaultProxy.start({ host: endpoint.host, port: endpoint.port }, mode);
    proxies.push(proxy);
    opened.proxies.push(proxy);
    const made = await makeRunner(proxied(endpoint, proxy));
    opened.runners.push(made);
    return { made, proxy };
  };
  const switchTo = async (next: FaultMode) => {
    mode = next;
    for (const proxy of proxies) proxy.setMode(next);
  };
  const call = (...args: (string | number)[]): Promise<RespValue> =>
    respCall(admin(endpoint), ...args);
  const { made } = await connect();
  return {
    runner: made.runner,
    flushScripts: async () => void (await call("SCRIPT", "FLUSH")),
    flushAll: async () => void (await call("FLUSHALL")),
    set: async (key, value, ttl) => void (await call("SET", key, value, "PX", ttl)),
    get: async (key) => (await call("GET", key)) as string | null,
    pttl: async (key) => (await call("PTTL", key)) as number,
    pause: () => switchTo("blackhole"),
    resume: () => switchTo("pass"),
    down: () => switchTo("reset"),
    up: () => switchTo("pass"),
    openRunner: async (): Promise<OpenedRunner> => {
      const { made, proxy } = await connect();
      const count = made.openConnections;
      return {
        runner: made.runner,
        openConnections: async () => (count ? await count.call(made) : proxy.connectionCount),
      };
    },
  };
}

/** A local Redis Cluster of `masters` masters, and the runner `make` builds over it. */
function clusterTarget(
  make: MakeClusterRunner,
  masters: number,
  options: RedisTargetOptions,
): ClusterTarget {
  const { cluster: _make, clusterMasters: _masters, fallback: _fallback, ...nodeOptions } = options;
  let started: RedisCluster | undefined;
  let made: RedisTargetRunner | undefined;
  return {
    async setup(): Promise<ConformanceCluster> {
      const cluster = await startCluster({ ...nodeOptions, masters });
      started = cluster;
      const startupNodes = cluster.nodes.map(({ url, host, port }) => ({ url, host, port }));
      made = await make(startupNodes);
      const masterOf = async (key: string) => {
        const slot = Number(await respCall(cluster.nodes[0]!, "CLUSTER", "KEYSLOT", key));
        return cluster.nodes.indexOf(cluster.nodeForSlot(slot));
      };
      const everyMaster = async (...args: string[]) => {
        await Promise.all(cluster.nodes.map((node) => respCall(node, ...args)));
      };
      return {
        runner: made.runner,
        masters: cluster.nodes.length,
        masterOf,
        get: async (key) =>
          (await respCall(cluster.nodes[await masterOf(key)]!, "GET", key)) as string | null,
        flushScripts: () => everyMaster("SCRIPT", "FLUSH"),
        flushAll: () => everyMaster("FLUSHALL"),
      };
    },
    async teardown(): Promise<void> {
      if (made) await closeRunners([made]);
      await started?.close();
      made = undefined;
      started = undefined;
    },
  };
}
