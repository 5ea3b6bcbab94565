import type { ScriptRunner } from "@redlock/core";
import { createIoredisRunner } from "@redlock/ioredis";
import { createNodeRedisRunner } from "@redlock/node-redis";
import {
  type RedisNode,
  startRedisNodes,
  startUpstashBridge,
  type UpstashBridge,
} from "@redlock/testbed";
import { createUpstashRunner } from "@redlock/upstash";
import { Redis as Upstash } from "@upstash/redis";
import IORedis from "ioredis";
import { createClient } from "redis";

export type DriverName = "ioredis" | "node-redis" | "upstash";
export const DRIVERS: DriverName[] = ["ioredis", "node-redis", "upstash"];

/** Real servers plus, per node, an Upstash REST bridge in front of it. */
export interface Bed {
  nodes: RedisNode[];
  bridges: UpstashBridge[];
  closers: (() => Promise<unknown>)[];
}

export async function startBed(count: number): Promise<Bed> {
  const nodes = await startRedisNodes(count);
  const bridges = await Promise.all(
    nodes.map((node) => startUpstashBridge({ redisUrl: node.url })),
  );
  return { nodes, bridges, closers: [] };
}

/** A runner of `driver` for node `i`, over a real client of that driver (URL overridable). */
export async function runnerFor(
  bed: Bed,
  driver: DriverName,
  i: number,
  url?: string,
): Promise<ScriptRunner> {
  const target = url ?? bed.nodes[i]!.url;
  switch (driver) {
    case "ioredis": {
      const client = new IORedis(target, { maxRetriesPerRequest: 1, disconnectTimeout: 50 });
      client.on("error", () => {});
      bed.closers.push(async () => client.disconnect());
      return createIoredisRunner(client);
    }
    case "node-redis": {
      const client = createClient({ url: target });
      client.on("error", () => {});
      await client.connect();
      bed.closers.push(async () => client.destroy?.() ?? client.disconnect());
      return createNodeRedisRunner(client);
    }
    case "upstash": {
      const bridge = bed.bridges[i]!;
      return createUpstashRunner(
        new Upstash({ url: bridge.url, token: bridge.token, enableTelemetry: false }),
      );
    }
  }
}

/** One runner of `driver` per node. */
export function runnersFor(bed: Bed, driver: DriverName): Promise<ScriptRunner[]> {
  return Promise.all(bed.nodes.map((_, i) => runnerFor(bed, driver, i)));
}

export async function closeBed(bed: Bed): Promise<void> {
  await Promise.allSettled(bed.closers.map((close) => close()));
}
