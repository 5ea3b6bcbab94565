import { defaultSettings } from "@redlock/core";
import type { Redis as IoRedis } from "ioredis";
import { ioredisDriver, nodeRedisDriver, type RawDriver, RawQuorum } from "./raw";
import { jittered, sleep } from "./time";

/** Lock TTL used by every contender, in every scenario (ms). */
export const LOCK_TTL = 5000;
/** Contended acquisitions of the raw baseline and the peers give up after about this long (ms). */
export const ACQUIRE_DEADLINE = 10_000;
/** The raw baseline's polling interval under contention (ms, ± half of it). */
export const RAW_POLL = 10;

/** Where the Redis nodes of one topology are reached. */
export interface Endpoints {
  redisUrls: string[];
  /** One Upstash REST bridge per node, in the same order. */
  upstash?: { urls: string[]; token: string };
}

/** One library (or the raw baseline) connected to one set of nodes. */
export interface LockClient {
  /** Acquire with the library's usual settings (no contention is expected). */
  acquire(key: string): Promise<unknown>;
  /**
   * Acquire, waiting for the key to be free: the baseline and the peers for up to about
   * {@link ACQUIRE_DEADLINE} ms, ours with the library's default settings.
   */
  acquireWaiting(key: string): Promise<unknown>;
  release(handle: unknown): Promise<void>;
  /** Resolves when work the library left running in the background has settled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export type ContenderId =
  | "raw"
  | "raw-node-redis"
  | "redlock-4"
  | "redlock-5"
  | "sesame"
  | "redis-semaphore"
  | "redlock-universal"
  | "ours-ioredis"
  | "ours-node-redis"
  | "ours-upstash";

export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  readonly group: "baseline" | "peer" | "ours";
  /**
   * The baseline whose figure in the same round and cell its uncontended and frozen figures are
   * divided by; none for the raw ioredis baseline itself.
   */
  readonly baseline?: ContenderId;
  /** Whether it takes part in the contended hand-off (every contender runs the other scenarios). */
  readonly handOff: boolean;
  /** How it waits for a busy lock, for the report. */
  readonly waiting: string;
  connect(endpoints: Endpoints): Promise<LockClient>;
}

async function ioredisClients(urls: readonly string[]): Promise<IoRedis[]> {
  const { Redis } = await import("ioredis");
  const clients = urls.map((url) => {
    const client = new Redis(url);
    client.on("error", () => {});
    return client;
  });
  await Promise.all(clients.map((client) => client.ping()));
  return clients;
}

function disconnectAll(clients: readonly IoRedis[]): Promise<void> {
  for (const client of clients) client.disconnect();
  return Promise.resolve();
}

const noIdle = () => Promise.resolve();

async function nodeRedisClients(urls: readonly string[]) {
  const { createClient } = await import("redis");
  return Promise.all(
    urls.map(async (url) => {
      const client = createClient({ url });
      client.on("error", () => {});
      await client.connect();
      return client;
    }),
  );
}

/** The raw baseline on one client library. */
function rawClient<Client>(
  name: string,
  quorum: RawQuorum<Client>,
  close: () => Promise<void>,
): LockClient {
  type Held = { key: string; value: string };
  return {
    async acquire(key) {
      const value = await quorum.attempt(key, LOCK_TTL);
      if (value === undefined) throw new Error(`${name}: ${key} is locked`);
      return { key, value } satisfies Held;
    },
    async acquireWaiting(key) {
      const giveUpAt = Date.now() + ACQUIRE_DEADLINE;
      for (;;) {
        const value = await quorum.attempt(key, LOCK_TTL);
        if (value !== undefined) return { key, value } satisfies Held;
        const delay = jittered(RAW_POLL, RAW_POLL / 2);
        if (Date.now() + delay >= giveUpAt) throw new Error(`${name}: gave up on ${key}`);
        await sleep(delay);
      }
    },
    release(handle) {
      const held = handle as Held;
      return quorum.release(held.key, held.value);
    },
    idle: noIdle,
    close,
  };
}

async function loaded<Client>(
  clients: readonly Client[],
  driver: RawDriver<Client>,
): Promise<RawQuorum<Client>> {
  const quorum = new RawQuorum(clients, driver);
  await quorum.load();
  return quorum;
}

const RAW_WAITING = `polls every ${RAW_POLL} ± ${RAW_POLL / 2} ms`;

const raw: Contender = {
  id: "raw",
  label: "raw EVALSHA (ioredis)",
  group: "baseline",
  handOff: true,
  waiting: RAW_WAITING,
  async connect({ redisUrls }) {
    const clients = await ioredisClients(redisUrls);
    const quorum = await loaded(clients, ioredisDriver);
    return rawClient("raw", quorum, () => disconnectAll(clients));
  },
};

const rawNodeRedis: Contender = {
  id: "raw-node-redis",
  label: "raw EVALSHA (node-redis)",
  group: "baseline",
  baseline: "raw",
  handOff: false,
  waiting: RAW_WAITING,
  async connect({ redisUrls }) {
    const clients = await nodeRedisClients(redisUrls);
    const quorum = await loaded(clients, nodeRedisDriver);
    return rawClient("raw-node-redis", quorum, async () => {
      for (const client of clients) client.destroy();
    });
  },
};

/** node-redlock's retry settings sized to the same 10 s window: 50 retries of 200 ± 100 ms. */
const NODE_REDLOCK_RETRIES = { retryCount: 50, retryDelay: 200, retryJitter: 100 };

const redlock4: Contender = {
  id: "redlock-4",
  label: "redlock 4.2.0",
  group: "peer",
  baseline: "raw",
  handOff: true,
  waiting: "retryCount 50 × 200 ± 100 ms",
  async connect({ redisUrls }) {
    const { default: Redlock } = await import("redlock-4");
    const clients = await ioredisClients(redisUrls);
    const redlock = new Redlock(clients, NODE_REDLOCK_RETRIES);
    redlock.on("clientError", () => {});
    const lock = (key: string) => redlock.lock(key, LOCK_TTL);
    return {
      acquire: lock,
      acquireWaiting: lock,
      release: (handle) => redlock.unlock(handle as Parameters<typeof redlock.unlock>[0]),
      idle: noIdle,
      close: () => disconnectAll(clients),
    };
  },
};

const redlock5: Contender = {
  id: "redlock-5",
  label: "redlock 5.0.0-beta.2",
  group: "peer",
  baseline: "raw",
  handOff: true,
  waiting: "retryCount 50 × 200 ± 100 ms",
  async connect({ redisUrls }) {
    const { default: Redlock } = await import("redlock-5");
    const clients = await ioredisClients(redisUrls);
    const redlock = new Redlock(clients, NODE_REDLOCK_RETRIES);
    redlock.on("error", () => {});
    const lock = (key: string) => redlock.acquire([key], LOCK_TTL);
    return {
      acquire: lock,
      acquireWaiting: lock,
      release: async (handle) => {
        await redlock.release(handle as Parameters<typeof redlock.release>[0]);
      },
      idle: noIdle,
      close: () => disconnectAll(clients),
    };
  },
};

const sesame: Contender = {
  id: "sesame",
  label: "@sesamecare-oss/redlock 1.4.0",
  group: "peer",
  baseline: "raw",
  handOff: true,
  waiting: "retryCount 50 × 200 ± 100 ms",
  async connect({ redisUrls }) {
    const { Redlock } = await import("@sesamecare-oss/redlock");
    const clients = await ioredisClients(redisUrls);
    const redlock = new Redlock(clients, NODE_REDLOCK_RETRIES);
    redlock.on("error", () => {});
    const lock = (key: string) => redlock.acquire([key], LOCK_TTL);
    return {
      acquire: lock,
      acquireWaiting: lock,
      release: async (handle) => {
        await redlock.release(handle as Parameters<typeof redlock.release>[0]);
      },
      idle: noIdle,
      close: () => disconnectAll(clients),
    };
  },
};

const redisSemaphore: Contender = {
  id: "redis-semaphore",
  label: "redis-semaphore 5.8.0",
  group: "peer",
  baseline: "raw",
  handOff: true,
  waiting: "polls every 10 ms, acquireTimeout 10 s",
  async connect({ redisUrls }) {
    const { Mutex, RedlockMutex } = await import("redis-semaphore");
    const clients = await ioredisClients(redisUrls);
    const options = { lockTimeout: LOCK_TTL, acquireTimeout: ACQUIRE_DEADLINE };
    const lock = async (key: string) => {
      const mutex =
        clients.length === 1
          ? new Mutex(clients[0]!, key, options)
          : new RedlockMutex(clients, key, options);
      await mutex.acquire();
      return mutex;
    };
    return {
      acquire: lock,
      acquireWaiting: lock,
      release: (handle) => (handle as InstanceType<typeof Mutex>).release(),
      idle: noIdle,
      close: () => disconnectAll(clients),
    };
  },
};

const redlockUniversal: Contender = {
  id: "redlock-universal",
  label: "redlock-universal 0.8.5",
  group: "peer",
  baseline: "raw",
  handOff: true,
  waiting: "1 node: 100 × 100 ms; 3/5 nodes: 50 × 200 ms",
  async connect({ redisUrls }) {
    const { createLock, createRedlock, IoredisAdapter } = await import("redlock-universal");
    const clients = await ioredisClients(redisUrls);
    const adapters = clients.map((client) => new IoredisAdapter(client));
    type UniversalLock = ReturnType<typeof createLock>;
    type Held = { lock: UniversalLock; handle: Awaited<ReturnType<UniversalLock["acquire"]>> };
    const lock = async (key: string): Promise<Held> => {
      const lock =
        adapters.length === 1
          ? createLock({
              adapter: adapters[0]!,
              key,
              ttl: LOCK_TTL,
              retryAttempts: 100,
              retryDelay: 100,
            })
          : createRedlock({ adapters, key, ttl: LOCK_TTL, retryAttempts: 50, retryDelay: 200 });
      return { lock, handle: await lock.acquire() };
    };
    return {
      acquire: lock,
      acquireWaiting: lock,
      release: async (handle) => {
        const held = handle as Held;
        await held.lock.release(held.handle);
      },
      idle: noIdle,
      close: () => disconnectAll(clients),
    };
  },
};

interface OurRedlock {
  acquire(resources: string[], duration: number): Promise<unknown>;
  release(lock: never): Promise<unknown>;
  idle(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

function oursClient(redlock: OurRedlock, close: () => Promise<void>): LockClient {
  redlock.on("error", () => {});
  // No settings anywhere: under contention too, ours wait as the library does by default.
  const acquire = (key: string) => redlock.acquire([key], LOCK_TTL);
  return {
    acquire,
    acquireWaiting: acquire,
    release: async (handle) => {
      await redlock.release(handle as never);
    },
    idle: () => redlock.idle(),
    close,
  };
}

/** How ours wait for a busy lock: the library's default settings. */
export const OURS_WAITING_TEXT = `library defaults: retryCount ${defaultSettings.retryCount} × ${defaultSettings.retryDelay} ± ${defaultSettings.retryJitter} ms, a release announcement brings the next try forward`;

const oursIoredis: Contender = {
  id: "ours-ioredis",
  label: "@redlock/ioredis",
  group: "ours",
  baseline: "raw",
  handOff: true,
  waiting: OURS_WAITING_TEXT,
  async connect({ redisUrls }) {
    const { Redlock } = await import("@redlock/ioredis");
    const clients = await ioredisClients(redisUrls);
    return oursClient(new Redlock(clients), () => disconnectAll(clients));
  },
};

const oursNodeRedis: Contender = {
  id: "ours-node-redis",
  label: "@redlock/node-redis",
  group: "ours",
  baseline: "raw-node-redis",
  handOff: true,
  waiting: OURS_WAITING_TEXT,
  async connect({ redisUrls }) {
    const { Redlock } = await import("@redlock/node-redis");
    const clients = await nodeRedisClients(redisUrls);
    return oursClient(new Redlock(clients), async () => {
      for (const client of clients) client.destroy();
    });
  },
};

const oursUpstash: Contender = {
  id: "ours-upstash",
  label: "@redlock/upstash (REST bridge)",
  group: "ours",
  baseline: "raw",
  handOff: true,
  waiting: OURS_WAITING_TEXT,
  async connect({ upstash }) {
    if (!upstash) throw new Error("no Upstash bridges for this topology");
    const { Redlock } = await import("@redlock/upstash");
    const { Redis } = await import("@upstash/redis");
    const clients = upstash.urls.map(
      (url) => new Redis({ url, token: upstash.token, enableTelemetry: false }),
    );
    return oursClient(new Redlock(clients), async () => {});
  },
};

export const CONTENDERS: readonly Contender[] = [
  raw,
  rawNodeRedis,
  redlock4,
  redlock5,
  sesame,
  redisSemaphore,
  redlockUniversal,
  oursIoredis,
  oursNodeRedis,
  oursUpstash,
];

export function contender(id: ContenderId): Contender {
  const found = CONTENDERS.find((c) => c.id === id);
  if (!found) throw new Error(`unknown contender ${id}`);
  return found;
}
