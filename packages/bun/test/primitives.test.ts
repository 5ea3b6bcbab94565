import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { defaultScripts } from "@redlock/core/adapter";
import { createIoredisRunner } from "@redlock/ioredis";
import { type RedisNode, respCall, startRedis, teardownAll } from "@redlock/test-suite/redis";
import { primitivesSuite } from "@redlock/testbed";
import { Redis } from "ioredis";
import { createBunRunner, type ScriptRunner } from "../src";
import { bunClient, closeClients } from "./helpers";

// Semaphores, read-write locks, inspect() and adopt() through Bun's client and through ioredis
// (running under Bun) on the same three servers: each driver respects what the other holds.
// Then replicaSync through Bun's client on a primary with a replica. The shared cases live in
// @redlock/testbed's primitivesSuite; the ones about Bun's connection are below.

const ioredisClients: Redis[] = [];

/** A runner over a Bun client of its own for `node`. */
function bunRunner(node: RedisNode): ScriptRunner {
  return createBunRunner(bunClient(node.url), { url: node.url });
}

/** A runner over an ioredis client of its own for `node`. */
function ioredisRunner(node: RedisNode): ScriptRunner {
  const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  ioredisClients.push(client);
  return createIoredisRunner(client);
}

/** Close every client opened so far. */
function closeAll(): void {
  closeClients();
  for (const client of ioredisClients.splice(0)) client.disconnect();
}

afterAll(async () => {
  closeAll();
  await teardownAll();
});

primitivesSuite(
  { describe, test, expect, beforeAll, afterAll, afterEach },
  {
    driver: "bun",
    label: "Bun",
    client: "Bun's client",
    prefix: "bun",
    runner: bunRunner,
    ioredisRunner,
    close: closeAll,
    startTimeout: 60_000,
  },
);

describe("waitReplicas on a server", () => {
  let node: RedisNode;
  beforeAll(async () => {
    node = await startRedis();
  });
  afterEach(() => closeAll());
  afterAll(() => node.stop());

  /** The id of the one connection whose last command matches `command`. */
  async function connectionOf(command: RegExp): Promise<string | undefined> {
    const list = String(await respCall(node, "CLIENT", "LIST")).split("\n");
    const lines = list.filter((line) => command.test(line));
    expect(lines).toHaveLength(1);
    return /\bid=(\d+)/.exec(lines[0] as string)?.[1];
  }

  test("WAIT runs on the connection the scripts ran on", async () => {
    const runner = bunRunner(node);
    expect(await runner.run(defaultScripts.acquireScript, ["w"], ["v", 5000])).toBe(1);
    // EVALSHA, then EVAL on a server that did not know the script yet.
    const scripts = await connectionOf(/ cmd=eval(sha)? /);
    // No replica: none acknowledges, once the 50 ms have passed.
    expect(await runner.waitReplicas?.(1, 50, false)).toBe(0);
    expect(await connectionOf(/ cmd=wait /)).toBe(scripts);
  });

  test("quit() waits for a WAIT still due instead of failing it", async () => {
    const runner = createBunRunner(bunClient(node.url), { url: node.url });
    expect(await runner.run(defaultScripts.acquireScript, ["q"], ["v", 5000])).toBe(1);
    const waiting = runner.waitReplicas?.(1, 200, false);
    await runner.quit?.();
    expect(await waiting).toBe(0);
  });
});
