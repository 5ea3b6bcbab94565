import {
  type FallbackServers,
  type ResolveRedisOptions as KitResolveOptions,
  type RedisFallback,
  type ResolvedRedis,
  resolveRedis as resolveFromKit,
} from "@redlock/test-suite/redis";

/** Options of {@link resolveRedis}: the kit's, plus the Testcontainers fallback. */
export interface ResolveRedisOptions extends Omit<KitResolveOptions, "fallback"> {
  /** Consider Testcontainers when no local binary exists. Default true. */
  docker?: boolean;
  /** Time allowed for a container runtime to answer. Default 5000 ms. */
  dockerTimeoutMs?: number;
  /** Image for the container fallback. Default `redis:7.2`. */
  image?: string;
}

const CONTAINER_REASON = "containers started through Testcontainers are not process-controlled";

/** Rejects with a clear error when `promise` takes longer than `ms`. */
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

/** Imports an optional module by a name the bundler leaves alone. */
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

/** Starts `count` Redis containers, all or none. */
async function startContainers(count: number, image: string): Promise<FallbackServers> {
  const { RedisContainer } = await loadModule<RedisContainerModule>("@testcontainers/redis");
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => new RedisContainer(image).start()),
  );
  const containers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const close = async () => {
    await Promise.allSettled(containers.map((c) => c.stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await close();
    throw failed.reason;
  }
  const endpoints = containers.map((c) => {
    const host = c.getHost();
    const port = c.getMappedPort(6379);
    return { url: `redis://${host}:${port}`, host, port };
  });
  return { endpoints, reason: CONTAINER_REASON, close };
}

/**
 * Redis containers through Testcontainers, used when neither `REDIS_URLS` nor `redis-server` is
 * available, and only if a container runtime answers within `timeoutMs`.
 */
export function testcontainersFallback(
  options: Pick<ResolveRedisOptions, "docker" | "dockerTimeoutMs" | "image"> = {},
): RedisFallback {
  const { docker = true, dockerTimeoutMs = 5000, image = "redis:7.2" } = options;
  return {
    source: "testcontainers",
    hint: "a reachable Docker engine",
    async start(count) {
      if (!docker) return "Docker probing disabled";
      const probe = await probeDocker(dockerTimeoutMs);
      return probe.ok ? startContainers(count, image) : probe.reason;
    },
  };
}

/**
 * Provides `n` Redis servers, in this order:
 * 1. `REDIS_URLS` (external servers, `controllable: false`);
 * 2. a local `redis-server` (`REDIS_SERVER_BIN` or PATH), spawned on free ports;
 * 3. Testcontainers, only if a container runtime answers;
 * 4. otherwise one error explaining how to get Redis.
 */
export function resolveRedis(n = 1, options: ResolveRedisOptions = {}): Promise<ResolvedRedis> {
  const { docker, dockerTimeoutMs, image, ...nodeOptions } = options;
  const fallback = testcontainersFallback({
    ...(docker === undefined ? {} : { docker }),
    ...(dockerTimeoutMs === undefined ? {} : { dockerTimeoutMs }),
    ...(image === undefined ? {} : { image }),
  });
  return resolveFromKit(n, { ...nodeOptions, fallback });
}
