import type { ScriptRunner } from "@redlock/core";
import { createIoredisRunner } from "@redlock/ioredis";
import { createNodeRedisRunner } from "@redlock/node-redis";
import { createUpstashRunner } from "@redlock/upstash";
import { Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IoRedis } from "ioredis";
import { createClient } from "redis";
import type { Driver, NodeEndpoint, WorkerConfig } from "./types";

/** Runners for a set of nodes, and a way to close their clients. */
export interface NodeRunners {
  readonly runners: ScriptRunner[];
  close(): Promise<void>;
}

/** How long a dropped connection waits before reconnecting. */
const RECONNECT_MS = 25;

/**
 * One runner per endpoint, named `node-<index>`, each with `timeout` as its reply timeout.
 * Clients fail fast while disconnected (no offline queue, no resend after a reconnect) and
 * reconnect every 25 ms, so a crashed node is back in the quorum soon after it restarts.
 */
export async function connectRunners(
  driver: Driver,
  endpoints: readonly NodeEndpoint[],
  timeout: number,
): Promise<NodeRunners> {
  if (driver === "ioredis") {
    const clients = endpoints.map(({ url }) =>
      new IoRedis(url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        connectTimeout: 500,
        disconnectTimeout: 50,
        retryStrategy: () => RECONNECT_MS,
      }).on("error", () => {}),
    );
    await Promise.all(clients.map((client) => client.connect()));
    const runners = clients.map((client, i) =>
      createIoredisRunner(client, { name: `node-${i}`, timeout }),
    );
    return {
      runners,
      close: () =>
        closeAll(runners, () => {
          for (const client of clients) client.disconnect();
        }),
    };
  }
  if (driver === "node-redis") {
    const clients = endpoints.map(({ url }) =>
      createClient({
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout: 500, reconnectStrategy: () => RECONNECT_MS },
      }).on("error", () => {}),
    );
    await Promise.all(clients.map((client) => client.connect()));
    const runners = clients.map((client, i) =>
      createNodeRedisRunner(client, { name: `node-${i}`, timeout }),
    );
    return {
      runners,
      close: () =>
        closeAll(runners, () => {
          for (const client of clients) if (client.isOpen) client.destroy();
        }),
    };
  }
  const clients = endpoints.map(({ url, token }) => new UpstashRedis({ url, token: token ?? "" }));
  return {
    runners: clients.map((client, i) =>
      createUpstashRunner(client, { name: `node-${i}`, timeout }),
    ),
    close: async () => {},
  };
}

/**
 * Close runners (which also closes the pub/sub connections they opened for release
 * announcements), giving up after a second, then close the clients outright.
 */
async function closeAll(runners: readonly ScriptRunner[], force: () => void): Promise<void> {
  const quits = Promise.allSettled(runners.map((runner) => runner.quit?.()));
  await Promise.race([quits, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  force();
}

/**
 * The nodes this worker locks over: all of them, or its own window of consecutive nodes starting
 * at node `2 * id` in the planted-bug modes (`2q - 1` nodes for `brokenQuorum: q`, or
 * `nodeWindow` nodes).
 */
export function lockNodes(config: WorkerConfig): NodeEndpoint[] {
  const q = config.brokenQuorum;
  const size = config.nodeWindow ?? (q === undefined ? undefined : 2 * q - 1);
  if (size === undefined) return [...config.nodes];
  const n = config.nodes.length;
  return Array.from({ length: size }, (_, k) => config.nodes[(2 * config.id + k) % n]!);
}
