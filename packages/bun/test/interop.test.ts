import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createIoredisRunner } from "@redlock/ioredis";
import { type RedisNode, startRedisNodes, teardownAll } from "@redlock/test-suite/redis";
import { Redis } from "ioredis";
import { createBunRunner, Redlock, ResourceLockedError } from "../src";
import { bunClient, closeClients } from "./helpers";

// The same three servers through Bun's client and through ioredis (running under Bun): one lock
// format, so each excludes the other. ioredis runners are built from the public adapter API.
let nodes: RedisNode[];
const redlocks = new Map<"bun" | "ioredis", Redlock>();
const ioredisClients: Redis[] = [];

beforeAll(async () => {
  nodes = await startRedisNodes(3);
  redlocks.set(
    "bun",
    new Redlock(
      nodes.map(({ url }) => createBunRunner(bunClient(url), { url })),
      { retryCount: 0 },
    ),
  );
  for (const { url } of nodes) ioredisClients.push(new Redis(url));
  redlocks.set(
    "ioredis",
    new Redlock(
      ioredisClients.map((client) => createIoredisRunner(client)),
      { retryCount: 0 },
    ),
  );
}, 60_000);
afterAll(async () => {
  closeClients();
  for (const client of ioredisClients) client.disconnect();
  await teardownAll();
});

describe.each([
  ["bun", "ioredis"],
  ["ioredis", "bun"],
] as const)("a %s holder and a %s contender", (holder, contender) => {
  test.each([[["single"]], [["multi:a", "multi:b", "multi:c"]]])(
    "exclude each other on %j",
    async (names) => {
      const resources = names.map((name) => `${holder}>${contender}:${name}`);
      const held = await redlocks.get(holder)!.acquire(resources, 10_000);
      await expect(redlocks.get(contender)!.acquire(resources, 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      // A lock on one of the resources alone is refused too.
      await expect(
        redlocks.get(contender)!.acquire([resources[0]!], 10_000),
      ).rejects.toBeInstanceOf(ResourceLockedError);
      expect((await held.release()).outcome).toBe("released");
      const next = await redlocks.get(contender)!.acquire(resources, 10_000);
      await expect(redlocks.get(holder)!.acquire(resources, 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      expect((await next.release()).outcome).toBe("released");
    },
  );
});
