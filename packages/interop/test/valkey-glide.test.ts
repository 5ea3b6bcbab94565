import { Redlock, ResourceLockedError, type ScriptRunner } from "@redlock/core";
import { createIoredisRunner } from "@redlock/ioredis";
import { createNodeRedisRunner } from "@redlock/node-redis";
import { type RedisNode, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createValkeyGlideRunner } from "@redlock/valkey-glide";
import { GlideClient, Logger } from "@valkey/valkey-glide";
import IORedis from "ioredis";
import { createClient } from "redis";

// Services on Valkey GLIDE, ioredis and node-redis, same three servers: each excludes the others,
// and a waiter on one driver hears a release made through another.

type Driver = "valkey-glide" | "ioredis" | "node-redis";

// GLIDE logs every error reply at warn level, the NOSCRIPT before a first EVAL included.
Logger.setLoggerConfig("error");

let nodes: RedisNode[];
const closers: (() => unknown)[] = [];

/** A runner of `driver` for `node`, over a client of its own. */
async function runnerFor(driver: Driver, node: RedisNode): Promise<ScriptRunner> {
  switch (driver) {
    case "valkey-glide": {
      const client = await GlideClient.createClient({
        addresses: [{ host: node.host, port: node.port }],
        requestTimeout: 5000,
      });
      closers.push(() => client.close());
      return createValkeyGlideRunner(client);
    }
    case "ioredis": {
      const client = new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 });
      client.on("error", () => {});
      closers.push(() => client.disconnect());
      return createIoredisRunner(client);
    }
    case "node-redis": {
      const client = createClient({ url: node.url });
      client.on("error", () => {});
      await client.connect();
      closers.push(() => client.destroy());
      return createNodeRedisRunner(client);
    }
  }
}

/** Runners of `driver`, one per node. */
function runnersOf(driver: Driver): Promise<ScriptRunner[]> {
  return Promise.all(nodes.map((node) => runnerFor(driver, node)));
}

/** A `Redlock` over every node through `driver`. */
async function redlockOf(driver: Driver, settings: ConstructorParameters<typeof Redlock>[1]) {
  return new Redlock(await runnersOf(driver), settings);
}

/**
 * `runners`, and a promise that resolves once each has confirmed a subscription
 * (`onRelease` resolved): from then on, every node's announcement is heard.
 */
function listening(runners: readonly ScriptRunner[]) {
  let confirmed = 0;
  let done = () => {};
  const active = new Promise<void>((resolve) => {
    done = resolve;
  });
  const watched = runners.map(
    (runner): ScriptRunner => ({
      ...(runner.name === undefined ? {} : { name: runner.name }),
      run: (script, keys, args, options) => runner.run(script, keys, args, options),
      onRelease: async (key, listener) => {
        const off = await runner.onRelease!(key, listener);
        if (++confirmed === runners.length) done();
        return off;
      },
    }),
  );
  return { runners: watched, active };
}

beforeAll(async () => {
  nodes = await startRedisNodes(3);
});
afterAll(async () => {
  await Promise.allSettled(closers.map(async (close) => close()));
  await teardownAll();
});

const pairs = (["ioredis", "node-redis"] as const).flatMap((other) => [
  ["valkey-glide", other] as const,
  [other, "valkey-glide"] as const,
]);

describe.each(pairs)("a %s holder and a %s contender", (holder, contender) => {
  test.each([[["single"]], [["multi:a", "multi:b", "multi:c"]]])(
    "exclude each other on %j",
    async (names) => {
      const held = await redlockOf(holder, { retryCount: 0 });
      const contending = await redlockOf(contender, { retryCount: 0 });
      const resources = names.map((name) => `glide:${holder}>${contender}:${name}`);
      const lock = await held.acquire(resources, 10_000);
      await expect(contending.acquire(resources, 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      // A lock on one of the resources alone is refused too.
      await expect(contending.acquire([resources[0]!], 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      // Released through the holder's driver, the resources are free for the other one.
      expect((await lock.release()).outcome).toBe("released");
      const next = await contending.acquire(resources, 10_000);
      await expect(held.acquire(resources, 10_000)).rejects.toBeInstanceOf(ResourceLockedError);
      expect((await next.release()).outcome).toBe("released");
    },
  );

  test("a waiter hears the release through the other driver", async () => {
    const held = await redlockOf(holder, { retryCount: 0 });
    const watched = listening(await runnersOf(contender));
    // Without the announcement, the waiter would retry only after 60 s: the test fails first.
    const waiting = new Redlock(watched.runners, { retryCount: 1, retryDelay: 60_000 });
    const resource = `glide:${holder}>${contender}:handoff`;
    const lock = await held.acquire([resource], 30_000);
    const waiter = waiting.acquire([resource], 10_000);
    // The waiter subscribes once its first try was refused.
    await watched.active;
    expect((await lock.release()).outcome).toBe("released");
    const next = await waiter;
    expect((await next.release()).outcome).toBe("released");
  }, 15_000);
});
