import { defaultScripts } from "@redlock/core/adapter";
import {
  type RedisNode,
  respCall,
  startCluster,
  startRedis,
  teardownAll,
} from "@redlock/test-suite/redis";
import { createValkeyGlideRunner, type GlideClientLike, NodeError } from "../src";
import { closeClients, glideClient, glideCluster, rejection } from "./helpers";

afterEach(() => closeClients());
afterAll(() => teardownAll());

const { acquireScript, releaseScript } = defaultScripts;

/** How many pub/sub connections `node` serves right now. */
async function pubsubConnections(node: RedisNode): Promise<number> {
  const list = String(await respCall(node, "CLIENT", "LIST", "TYPE", "pubsub"));
  return list.split("\n").filter((line) => line.trim() !== "").length;
}

/** How many connections `node` serves right now, the one asking excepted. */
async function connections(node: RedisNode): Promise<number> {
  const list = String(await respCall(node, "CLIENT", "LIST"));
  return list.split("\n").filter((line) => line.trim() !== "" && !/cmd=client\|list/.test(line))
    .length;
}

/** Resolves once `check` holds, polling the server; the test's timeout is the hang guard. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A listener that counts its calls, and a promise of its first call. */
function listener() {
  let resolve = () => {};
  const heard = new Promise<void>((done) => {
    resolve = done;
  });
  const state = {
    calls: 0,
    heard,
    listen: () => {
      state.calls++;
      resolve();
    },
  };
  return state;
}

/** Take and release `key` with `runner`: the release announces it. */
async function takeAndRelease(runner: ReturnType<typeof createValkeyGlideRunner>, key: string) {
  expect(await runner.run(acquireScript, [key], ["holder", 30_000])).toBe(1);
  return (await runner.run(releaseScript, [key], ["holder"])) as number[];
}

describe("a standalone client", () => {
  test("opens its pub/sub client with the first listener and closes it after the last", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    expect(await connections(node)).toBe(1);

    const a = listener();
    const b = listener();
    const offA = await runner.onRelease!("job:a", a.listen);
    const offB = await runner.onRelease!("job:b", b.listen);
    expect(await pubsubConnections(node)).toBe(1);
    expect(await connections(node)).toBe(2);

    // The release reached one subscriber: the runner's.
    expect((await takeAndRelease(runner, "job:a"))[2]).toBe(1);
    await a.heard;
    expect([a.calls, b.calls]).toEqual([1, 0]);

    await offA();
    expect((await takeAndRelease(runner, "job:a"))[2]).toBe(0);
    expect(await pubsubConnections(node)).toBe(1);
    await offB();
    expect(await pubsubConnections(node)).toBe(0);
    // GLIDE drops a closed client's connection a few seconds after close().
    await until(async () => (await connections(node)) === 1);

    // A later listener opens a new one.
    const c = listener();
    const offC = await runner.onRelease!("job:a", c.listen);
    expect((await takeAndRelease(runner, "job:a"))[2]).toBe(1);
    await c.heard;
    await offC();
  });

  test("a pub/sub client that cannot connect: onRelease rejects, and nothing stays open", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    node.pause();
    try {
      const error = await rejection<NodeError>(runner.onRelease!("job:paused", () => {}));
      expect(error).toBeInstanceOf(NodeError);
      expect(error.message).toMatch(/^\[redis:\/\/[^\]]+\] release subscription failed: /);
      expect(error.cause).toMatchObject({ name: "ClosingError" });
    } finally {
      node.resume();
    }
    await until(async () => (await connections(node)) === 1);
    expect(await connections(node)).toBe(1);
  });

  test("a subscription not confirmed within timeout rejects, and is dropped", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node), { timeout: 300 });
    const off = await runner.onRelease!("job:open", () => {});
    node.pause();
    try {
      const error = await rejection<NodeError>(runner.onRelease!("job:late", () => {}));
      expect(error.message).toMatch(/release subscription failed: timed out/);
      expect(error.cause).toMatchObject({ name: "TimeoutError" });
    } finally {
      node.resume();
    }
    // GLIDE would make it once the node answers again, with the next confirmed subscription;
    // the runner unsubscribed it.
    const after = await runner.onRelease!("job:after", () => {});
    expect(await respCall(node, "PUBSUB", "NUMSUB", "redlock:released:job:late")).toEqual([
      "redlock:released:job:late",
      0,
    ]);
    await after();
    await off();
    await until(async () => (await connections(node)) === 1);
    expect(await pubsubConnections(node)).toBe(0);
  });

  test("quit() closes the pub/sub client too; onRelease then rejects", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    await runner.onRelease!("job:q", () => {});
    expect(await pubsubConnections(node)).toBe(1);
    await runner.quit();
    await until(async () => (await connections(node)) === 0);
    const error = await rejection<NodeError>(runner.onRelease!("job:q", () => {}));
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).toBe(`[${runner.name}] client closed by quit()`);
  });

  test("keys in bytes mode and unicode reach their listener", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node, { defaultDecoder: 0 }));
    const heard = listener();
    const off = await runner.onRelease!("jöb:✓", heard.listen);
    await takeAndRelease(runner, "jöb:✓");
    await heard.heard;
    expect(heard.calls).toBe(1);
    await off();
  });
});

test("a cluster client hears releases on any master", async () => {
  const cluster = await startCluster({ masters: 3 });
  const runner = createValkeyGlideRunner(await glideCluster(cluster.nodes));
  expect(runner.name).toBe(
    `redis-cluster://${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`,
  );
  const keys = ["{a}:job", "{b}:job", "{c}:job"];
  const heard = keys.map(() => listener());
  const offs = await Promise.all(keys.map((key, i) => runner.onRelease!(key, heard[i]!.listen)));
  for (const key of keys) await takeAndRelease(runner, key);
  await Promise.all(heard.map((h) => h.heard));
  expect(heard.map((h) => h.calls)).toEqual([1, 1, 1]);
  await Promise.all(offs.map((off) => off()));
  await runner.quit();
});

test("without run-time subscriptions (GLIDE before 2.3), a runner has no onRelease", () => {
  const client: GlideClientLike = {
    customCommand: async () => 1,
    close: () => {},
  };
  Object.assign(client, { config: { addresses: [{ host: "a", port: 1 }] } });
  expect(createValkeyGlideRunner(client).onRelease).toBeUndefined();
});
