import { findRedisServer } from "./binary";
import { type RedisNode, type StartRedisOptions, startRedisNodes } from "./redis-node";
import { type Closeable, trackResource, untrackResource } from "./registry";

/** Where the servers came from: `REDIS_URLS`, spawned `redis-server` processes, or a fallback. */
export type RedisSource = "env" | "local" | (string & {});

/** One Redis server a test can talk to. `node` is set only when the process can be controlled. */
export interface RedisEndpoint {
  url: string;
  host: string;
  port: number;
  /** From the URL's user part (`redis://user:password@host:port`), when it has one. */
  username?: string;
  /** From the URL's user part, when it has one. */
  password?: string;
  controllable: boolean;
  node?: RedisNode;
}

/** Servers handed out by {@link resolveRedis}; `close()` stops those it started. */
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

/** Servers a {@link RedisFallback} started: reachable, but not process-controlled. */
export interface FallbackServers {
  endpoints: { url: string; host: string; port: number }[];
  /** Why these servers cannot be paused, killed or restarted. */
  reason: string;
  /** Stop the servers. */
  close(): Promise<void>;
}

/** Another way to get servers, tried when neither `REDIS_URLS` nor `redis-server` is there. */
export interface RedisFallback {
  /** Names the source, such as `"testcontainers"`. */
  readonly source: string;
  /** What the user could provide for this fallback to work, for the error, such as "a Docker engine". */
  readonly hint: string;
  /** Start `count` servers, or resolve with the reason this fallback is unavailable. */
  start(count: number): Promise<FallbackServers | string>;
}

/** Options of {@link resolveRedis}: those of spawned nodes, and an optional fallback. */
export interface ResolveRedisOptions extends Omit<StartRedisOptions, "port"> {
  fallback?: RedisFallback;
}

const ENV_REASON = "REDIS_URLS points at external servers; process control is unavailable";

/** Parses `REDIS_URLS` (comma-separated `redis://host:port` URLs); undefined when unset or empty. */
export function redisUrlsFromEnv(): string[] | undefined {
  const raw = process.env.REDIS_URLS?.trim();
  if (!raw) return undefined;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The endpoint a `redis://` or `rediss://` URL names, credentials included. */
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
  const endpoint: RedisEndpoint = {
    url,
    host,
    port: Number(parsed.port || 6379),
    controllable: false,
  };
  if (parsed.username) endpoint.username = decodeURIComponent(parsed.username);
  if (parsed.password) endpoint.password = decodeURIComponent(parsed.password);
  return endpoint;
}

/** A {@link ResolvedRedis}, tracked so that `teardownAll()` closes it. */
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
 * 2. a local `redis-server` (`REDIS_SERVER_BIN` or PATH), spawned on free loopback ports;
 * 3. `options.fallback`, when given;
 * 4. otherwise one error explaining how to get Redis.
 */
export async function resolveRedis(
  n = 1,
  options: ResolveRedisOptions = {},
): Promise<ResolvedRedis> {
  const { fallback, ...nodeOptions } = options;

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

  let alternative = "";
  if (fallback) {
    const started = await fallback.start(n);
    if (typeof started !== "string") {
      const endpoints = started.endpoints.map((e) => ({ ...e, controllable: false }));
      return resolved(fallback.source, endpoints, [], started.reason, started.close);
    }
    alternative = `, or provide ${fallback.hint} (${fallback.source}: "${started}")`;
  }

  throw new Error(
    "No Redis available for tests: set REDIS_URLS (comma-separated redis:// URLs), " +
      "install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install " +
      `redis), or point REDIS_SERVER_BIN at the binary${alternative}`,
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
  console.warn(`[redis] skipping ${label}: ${reason}`);
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
