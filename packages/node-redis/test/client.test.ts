import { createScript, defaultScripts } from "@redlock/core/adapter";
import {
  type FaultProxy,
  type RedisNode,
  respCall,
  startFaultProxy,
  startRedisNodes,
  teardownAll,
} from "@redlock/testbed";
import { RESP_TYPES } from "redis";
import {
  createNodeRedisRunner,
  NodeError,
  type NodeRedisClient,
  NodeTimeoutError,
  NodeUnreachableError,
  Redlock,
} from "../src";
import { at, connected, type Flavour, flavours, flushAll, onlyWhen, trackTimers } from "./helpers";

let nodes: RedisNode[];
let urls: string[];

beforeAll(async () => {
  nodes = await startRedisNodes(3);
  urls = nodes.map((node) => node.url);
});

afterAll(() => teardownAll());

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<NodeError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error as NodeError;
}

const pttl = (node: RedisNode, key: string) => respCall(at(node), "PTTL", key);
const get = (node: RedisNode, key: string) => respCall(at(node), "GET", key);

describe.each(flavours)("$label", (flavour: Flavour) => {
  const opened: NodeRedisClient[] = [];
  const proxies: FaultProxy[] = [];

  const open = async (url: string, extra?: Record<string, unknown>) => {
    const client = await connected(flavour.client(url, extra));
    opened.push(client);
    return client;
  };
  const proxyTo = async (node: RedisNode) => {
    const proxy = await startFaultProxy(at(node));
    proxies.push(proxy);
    return proxy;
  };

  afterEach(async () => {
    for (const client of opened.splice(0)) {
      if (client.isOpen) await (client.destroy ? client.destroy() : client.disconnect?.());
    }
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await flushAll(nodes);
  });

  test("acquire, extend and release on one node", async () => {
    const redlock = new Redlock([await open(urls[0]!)]);
    const lock = await redlock.acquire(["a", "b"], 10_000);
    expect(await get(nodes[0]!, "a")).toBe(lock.value);
    expect(await get(nodes[0]!, "b")).toBe(lock.value);

    const extended = await lock.extend(60_000);
    expect(Number(await pttl(nodes[0]!, "a"))).toBeGreaterThan(30_000);

    const result = await extended.release();
    expect(result.outcome).toBe("released");
    expect(await get(nodes[0]!, "a")).toBeNull();
    expect(await get(nodes[0]!, "b")).toBeNull();
  });

  test("acquire, extend and release on three nodes; a held lock excludes others", async () => {
    const clients = await Promise.all(urls.map((url) => open(url)));
    const redlock = new Redlock(clients, { retryCount: 0 });
    const lock = await redlock.acquire(["r"], 10_000);
    // The lock is handed out at quorum; wait for every node's vote before reading them all.
    await Promise.all(lock.attempts);
    for (const node of nodes) expect(await get(node, "r")).toBe(lock.value);

    await expect(redlock.acquire(["r"], 10_000)).rejects.toMatchObject({
      code: "RESOURCE_LOCKED",
    });

    const extended = await lock.extend(30_000);
    expect(extended.value).toBe(lock.value);
    const result = await extended.release();
    expect(result.outcome).toBe("released");
    expect(result.nodes.released).toBeGreaterThanOrEqual(2);
    await result.attempts.at(-1);
    for (const node of nodes) expect(await get(node, "r")).toBeNull();
  });

  test("integer and array replies decode to JS numbers and arrays", async () => {
    const runner = createNodeRedisRunner(await open(urls[0]!));
    const script = createScript("release", "return {1, tonumber(ARGV[1]), #KEYS}");
    await expect(runner.run(script, ["k1", "k2"], [42])).resolves.toEqual([1, 42, 2]);
    const negative = createScript("acquire", "return -1500");
    await expect(runner.run(negative, ["k"], [])).resolves.toBe(-1500);
  });

  test("falls back to EVAL after SCRIPT FLUSH, which loads the script", async () => {
    const runner = createNodeRedisRunner(await open(urls[0]!));
    const { acquireScript } = defaultScripts;
    await respCall(at(nodes[0]!), "SCRIPT", "FLUSH");
    expect(await respCall(at(nodes[0]!), "SCRIPT", "EXISTS", acquireScript.sha1)).toEqual([0]);

    await expect(runner.run(acquireScript, ["n"], ["v1", 10_000])).resolves.toBe(1);
    expect(await respCall(at(nodes[0]!), "SCRIPT", "EXISTS", acquireScript.sha1)).toEqual([1]);
    expect(await get(nodes[0]!, "n")).toBe("v1");
  });

  test("wraps a server error with the node name, keeping a sanitized copy of the driver's error as cause", async () => {
    const runner = createNodeRedisRunner(await open(urls[0]!), { name: "alpha" });
    const script = createScript("acquire", "return redis.error_reply('BOOM something failed')");
    const error = await rejection(runner.run(script, ["k"], []));
    expect(error).toBeInstanceOf(NodeError);
    expect(error).toMatchObject({ node: "alpha", code: "NODE_ERROR" });
    expect((error as Error).message).toBe("[alpha] BOOM something failed");
    expect((error as Error).cause).toMatchObject({ message: "BOOM something failed" });
    expect((error as Error).cause).not.toBeInstanceOf(flavour.ErrorReply);
  });

  test("wraps a connection reset (FaultProxy reset) with name and cause", async () => {
    const proxy = await proxyTo(nodes[0]!);
    const client = await open(proxy.url);
    const runner = createNodeRedisRunner(client);
    expect(runner.name).toBe(`redis://127.0.0.1:${proxy.port}`);
    proxy.reset();
    const error = await rejection(runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000]));
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message.startsWith(`[${runner.name}] `)).toBe(true);
    // Socket errors come from Node's realm, not jest's: compare by shape.
    expect(error.cause).toMatchObject({ message: expect.any(String) });
    expect(error.cause).not.toBeInstanceOf(NodeError);
  });

  test("rejects with NodeTimeoutError when no reply arrives (FaultProxy blackhole), leaving no timer", async () => {
    const proxy = await proxyTo(nodes[0]!);
    const runner = createNodeRedisRunner(await open(proxy.url), { timeout: 150 });
    proxy.blackhole();
    // The driver may keep timers of its own for the command it still holds; only the runner's
    // 150 ms timer is the runner's business.
    const timers = trackTimers(150);
    try {
      const started = Date.now();
      const error = await rejection(runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000]));
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toBeInstanceOf(NodeTimeoutError);
      expect(error).toMatchObject({ code: "NODE_TIMEOUT", node: runner.name });
      expect(error.message).toBe(`[${runner.name}] no reply within 150 ms`);
      expect(timers.pending()).toBe(0);
    } finally {
      timers.restore();
    }
  });

  test("keeps working after a timeout once the server answers again", async () => {
    const proxy = await proxyTo(nodes[0]!);
    const client = await open(proxy.url);
    const runner = createNodeRedisRunner(client, { timeout: 100 });
    proxy.blackhole();
    const late = await rejection(runner.run(defaultScripts.acquireScript, ["w"], ["v1", 10_000]));
    expect(late).toBeInstanceOf(NodeTimeoutError);
    proxy.pass();
    // The late reply is read and dropped; the next reply is the next command's. A runner on the
    // same client without the 100 ms deadline reads them: they are not about time.
    const after = createNodeRedisRunner(client);
    const held = await after.run(defaultScripts.acquireScript, ["w"], ["v2", 10_000]);
    expect(held).toBeLessThan(0); // minus the TTL left on v1's key
    await expect(after.run(defaultScripts.acquireScript, ["w"], ["v1", 10_000])).resolves.toBe(1);
    await runner.quit();
    expect(client.isOpen).toBe(false);
  });

  test("clears its timer when the reply arrives", async () => {
    const runner = createNodeRedisRunner(await open(urls[0]!), { timeout: 60_000 });
    const timers = trackTimers();
    try {
      await expect(runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000])).resolves.toBe(1);
      expect(timers.pending()).toBe(0);
    } finally {
      timers.restore();
    }
  });

  test("stops waiting when the caller's signal aborts", async () => {
    const proxy = await proxyTo(nodes[0]!);
    const runner = createNodeRedisRunner(await open(proxy.url));
    proxy.blackhole();
    const timers = trackTimers();
    try {
      const controller = new AbortController();
      const pending = runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000], {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(new Error("core gave up")), 50);
      const error = await rejection(pending);
      expect(error).toBeInstanceOf(NodeError);
      expect(error.cause).toEqual(new Error("core gave up"));
      expect(timers.pending()).toBe(0);
      await expect(
        runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000], { signal: controller.signal }),
      ).rejects.toBeInstanceOf(NodeError);
    } finally {
      timers.restore();
    }
  });

  test("a blackholed node out of three still lets a quorum acquire and release", async () => {
    const proxy = await proxyTo(nodes[2]!);
    const clients = [await open(urls[0]!), await open(urls[1]!), await open(proxy.url)];
    // The default node timeout: the two answering nodes must not miss a shorter one on a busy
    // machine, since no retry would make up for it.
    const redlock = new Redlock(clients, { retryCount: 0 });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    proxy.blackhole();
    const lock = await redlock.acquire(["q"], 10_000);
    expect(await get(nodes[0]!, "q")).toBe(lock.value);
    await lock.attempts.at(-1); // every node answered or timed out
    expect(errors.some((error) => error instanceof NodeTimeoutError)).toBe(true);
    expect((await lock.release()).outcome).toBe("released");
  });

  test("an unconnected client fails with a NodeUnreachableError saying to connect it", async () => {
    const runner = createNodeRedisRunner(flavour.client(urls[0]!));
    const error = await rejection(runner.run(defaultScripts.acquireScript, ["k"], ["v", 1000]));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toMatch(/not connected: call `await client\.connect\(\)`/);
    await expect(runner.quit()).resolves.toBeUndefined();
  });

  test("redlock.quit() closes every client, forcing one whose server went silent", async () => {
    const proxy = await proxyTo(nodes[2]!);
    const clients = [await open(urls[0]!), await open(urls[1]!), await open(proxy.url)];
    const redlock = new Redlock([
      clients[0]!,
      clients[1]!,
      createNodeRedisRunner(clients[2]!, { timeout: 200 }),
    ]);
    await redlock.acquire(["z"], 10_000);
    proxy.blackhole();
    const started = Date.now();
    await redlock.quit();
    expect(Date.now() - started).toBeLessThan(2000);
    for (const client of clients) expect(client.isOpen).toBe(false);
    await expect(redlock.quit()).resolves.toBeUndefined();
  });

  onlyWhen(flavour.major >= 5)(
    "decodes numbers even when the client maps RESP types to strings",
    async () => {
      const client = await open(urls[0]!, {
        commandOptions: { typeMapping: { [RESP_TYPES.NUMBER]: String } },
      });
      expect(await client.sendCommand(["EVAL", "return 7", "0"])).toBe("7");
      const runner = createNodeRedisRunner(client);
      await expect(runner.run(defaultScripts.acquireScript, ["m"], ["v", 1000])).resolves.toBe(1);
    },
  );

  onlyWhen(flavour.major === 6)(
    "applies the client's keyPrefix to lock keys, as typed commands do",
    async () => {
      const client = await open(urls[0]!, { keyPrefix: "app:" });
      const lock = await new Redlock([client]).acquire(["p"], 10_000);
      expect(await get(nodes[0]!, "app:p")).toBe(lock.value);
      expect(await get(nodes[0]!, "p")).toBeNull();
      expect((await lock.release()).outcome).toBe("released");
      expect(await get(nodes[0]!, "app:p")).toBeNull();
    },
  );
});
