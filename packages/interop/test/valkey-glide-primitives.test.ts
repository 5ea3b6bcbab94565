import { Redlock, type ScriptRunner } from "@redlock/core";
import { createIoredisRunner } from "@redlock/ioredis";
import { primitivesSuite, type RedisNode, respCall, teardownAll } from "@redlock/testbed";
import { createValkeyGlideRunner } from "@redlock/valkey-glide";
import { GlideClient, type GlideClientConfiguration, Logger } from "@valkey/valkey-glide";
import IORedis from "ioredis";

// Semaphores, read-write locks, inspect() and adopt() through Valkey GLIDE and ioredis on the
// same three servers: each driver respects what the other holds. Then replicaSync through GLIDE
// on a primary with a replica. The shared cases live in @redlock/testbed's primitivesSuite; the
// one about GLIDE's readFrom is below.

// GLIDE logs every error reply at warn level, the NOSCRIPT before a first EVAL included.
Logger.setLoggerConfig("error");

/** Closes what a test or a group opened, last opened first. */
const closers: (() => unknown)[] = [];
async function closeAll(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close();
}
afterAll(async () => {
  await closeAll();
  await teardownAll();
});

/** A runner over a GLIDE client of its own for `addresses` (the first one unless given more). */
async function glideRunner(
  addresses: readonly { host: string; port: number }[],
  config: Partial<GlideClientConfiguration> = {},
): Promise<ScriptRunner> {
  const client = await GlideClient.createClient({
    addresses: addresses.map(({ host, port }) => ({ host, port })),
    // Above every nodeTimeout used here, so that core's deadline decides.
    requestTimeout: 10_000,
    ...config,
  });
  closers.push(() => client.close());
  return createValkeyGlideRunner(client);
}

/** A runner over an ioredis client of its own for `node`. */
function ioredisRunner(node: RedisNode): ScriptRunner {
  const client = new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 });
  client.on("error", () => {});
  closers.push(() => client.disconnect());
  return createIoredisRunner(client);
}

primitivesSuite(
  { describe, test, expect, beforeAll, afterAll, afterEach },
  {
    driver: "valkey-glide",
    label: "GLIDE",
    prefix: "glide",
    runner: (node) => glideRunner([node]),
    ioredisRunner,
    close: closeAll,
    // The three WAITs share the client's connection, where the server runs them in turn: a
    // later one may pass GLIDE's bound for it (its timeout + 500 ms) before it is answered.
    refusal: /0 of 1 replicas acknowledged the grant|timed out: no reply within 800 ms/,
    replicaTests({ pair, synced }) {
      test("a client that reads from the replica still runs scripts and WAIT on the primary", async () => {
        const { primary, replica } = await pair();
        // A replica answers neither: it refuses writes (READONLY) and WAIT.
        await expect(respCall(replica, "WAIT", "1", "100")).rejects.toThrow(/replica/i);
        const runner = await glideRunner([replica, primary], { readFrom: "preferReplica" });
        const redlock = new Redlock([runner], synced);
        const lock = await redlock.acquire(["job"], 30_000);
        expect(await respCall(replica, "GET", "job")).toBe(lock.value);
        expect((await lock.release()).outcome).toBe("released");
      });
    },
  },
);
