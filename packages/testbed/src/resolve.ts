import { findRedisServer } from "./binary";
import { type RedisNode, type StartRedisOptions, startRedisNodes } from "./redis-node";
import { type Closeable, trackResource, untrackResource } from "./registry";

export type RedisSource = "env" | "local" | "testcontainers";

/** One Redis server a test can talk to. `node` is set only when the process can be controlled. */
export interface RedisEndpoint {
  url: string;
  host: string;
  port: number;
  controllable: boolean;
  node?: RedisNode;
}

export interface ResolvedRedis extends Closeable {
  source: RedisSource;
  endpoints: RedisEndpoint[];
  urls: string[];
  /** True when every endpoint is a spawned `RedisNode` (pause, kill, restart, DEBUG available). */
  controllable: boolean;
  /** Why process control is unavailable; undefined when `controllable`. */
  reason: string | undefined;
  /** The spawned nodes (source `local`), otherwise empty. */
  nodes: RedisNode[];
}

export interface ResolveRedisOptions extends Omit<StartRedisOptions, "port"> {
  /** Consider Testcontainers when no local binary exists. Default true. */
  docker?: boolean;
  /** Time allowed for a container runtime to answer. Default 5000 ms. */
  dockerTimeoutMs?: number;
  /** Image for the container fallback. Default `redis:7.2`. */
  image?: string;
}

const ENV_REASON = "REDIS_URLS points at external servers; process control is unavailable";
const CONTAINER_REASON = "containers started through Testcontainers are not process-controlled";

/** Parses `REDIS_URLS` (comma-separated `redis://host:port` URLs); undefined when unset or empty. */
export function redisUrlsFromEnv(): string[] | undefined {
  const raw = process.env.REDIS_URLS?.trim();
  if (!raw) return undefined;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function endpointFromUrl(url: string): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_URLS: not a URL: ${url}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(`REDIS_URLS: expected redis:// or rediss:// URLs, got ${url}`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  return { url, host, port: Number(parsed.port || 6379), controllable: false };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface TestcontainersModule {
  getContainerRuntimeClient(): Promise<unknown>;
}
interface RedisContainerModule {
  RedisContainer: new (image: string) => { start(): Promise<StartedContainer> };
}

async function loadModule<T>(specifier: string): Promise<T> {
  return (await import(specifier)) as T;
}

/**
 * Probes for a container runtime via Testcontainers. Resolves with the reason on failure so the
 * final error can include it.
 */
async function probeDocker(
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const tc = await loadModule<TestcontainersModule>("testcontainers");
    await withTimeout(tc.getContainerRuntimeClient(), timeoutMs, "container runtime");
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

function resolved(
  source: RedisSource,
  endpoints: RedisEndpoint[],
  nodes: RedisNode[],
  reason: string | undefined,
  close: () => Promise<void>,
): ResolvedRedis {
  const result: ResolvedRedis = {
    source,
    endpoints,
    urls: endpoints.map((e) => e.url),
    controllable: endpoints.every((e) => e.controllable),
    reason,
    nodes,
    close: async () => {
      untrackResource(result);
      await close();
    },
  };
  trackResource(result);
  return result;
}

/**
 * Provides `n` Redis servers, in this order:
 * 1. `REDIS_URLS` (external servers, `controllable: false`);
 * 2. a local `redis-server` (`REDIS_SERVER_BIN` or PATH), spawned on free ports;
 * 3. Testcontainers, only if a container runtime answers;
 * 4. otherwise one error explaining how to get Redis.
 */
export async function resolveRedis(
  n = 1,
  options: ResolveRedisOptions = {},
): Promise<ResolvedRedis> {
  const { docker = true, dockerTimeoutMs = 5000, image = "redis:7.2", ...nodeOptions } = options;

  const urls = redisUrlsFromEnv();
  if (urls) {
    if (urls.length < n) {
      throw new Error(`REDIS_URLS lists ${urls.length} server(s) but this suite needs ${n}`);
    }
    const endpoints = urls.slice(0, n).map(endpointFromUrl);
    return resolved("env", endpoints, [], ENV_REASON, async () => {});
  }

  if (findRedisServer()) {
    const nodes = await startRedisNodes(n, nodeOptions);
    const endpoints = nodes.map((node) => ({
      url: node.url,
      host: node.host,
      port: node.port,
      controllable: true,
      node,
    }));
    return resolved("local", endpoints, nodes, undefined, async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    });
  }

  let dockerReason = "Docker probing disabled";
  if (docker) {
    const probe = await probeDocker(dockerTimeoutMs);
    if (probe.ok) {
      const { RedisContainer } = await loadModule<RedisContainerModule>("@testcontainers/redis");
      const started = await Promise.allSettled(
        Array.from({ length: n }, () => new RedisContainer(image).start()),
      );
      const containers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const stopAll = async () => {
        await Promise.allSettled(containers.map((c) => c.stop()));
      };
      const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) {
        await stopAll();
        throw failed.reason;
      }
      const endpoints = containers.map((c) => {
        const host = c.getHost();
        const port = c.getMappedPort(6379);
        return { url: `redis://${host}:${port}`, host, port, controllable: false };
      });
      return resolved("testcontainers", endpoints, [], CONTAINER_REASON, stopAll);
    }
    dockerReason = probe.reason;
  }

  throw new Error(
    "No Redis available for tests: set REDIS_URLS (comma-separated redis:// URLs), " +
      "install redis-server (Debian: apt-get install redis-server, or set REDIS_SERVER_BIN), " +
      `or provide a reachable Docker engine (testcontainers: "${dockerReason}")`,
  );
}

/**
 * Sync check for suites that need process control (pause, kill, restart, DEBUG): returns the
 * reason they cannot run, or undefined when they can. Only `REDIS_URLS` disables control.
 */
export function processControlSkipReason(): string | undefined {
  return redisUrlsFromEnv() ? ENV_REASON : undefined;
}

/**
 * Picks `run` when process control is available and `skip` otherwise, printing the reason once,
 * e.g. `const controlTest = whenControllable(test, test.skip);`.
 */
export function whenControllable<T>(run: T, skip: T, label = "process-control tests"): T {
  const reason = processControlSkipReason();
  if (!reason) return run;
  console.warn(`[testbed] skipping ${label}: ${reason}`);
  return skip;
}

/** Throws a descriptive error unless the endpoint is backed by a controllable `RedisNode`. */
export function requireControl(endpoint: RedisEndpoint): RedisNode {
  if (!endpoint.node) {
    throw new Error(
      `${endpoint.url} is not process-controlled; guard the test with whenControllable`,
    );
  }
  return endpoint.node;
}
