import { createScript, defaultScripts } from "@redlock/core/adapter";
import {
  type FaultProxy,
  type RedisNode,
  respCall,
  sleep,
  startFaultProxy,
  startRedis,
  startRedisNodes,
  teardownAll,
} from "@redlock/testbed";
import {
  createIoredisRunner,
  NodeError,
  NodeTimeoutError,
  NodeUnreachableError,
  QuorumUnreachableError,
  Redlock,
  ResourceLockedError,
} from "../src";
import { closeClients, drivers, eventually, rejection, watchTimers } from "./helpers";

const acquire = defaultScripts.acquireScript;
let counter = 0;
const key = (label: string) => `${label.replace(" ", "")}:key:${++counter}`;

afterEach(() => closeClients());
afterAll(() => teardownAll());

describe.each(drivers)("%s", (label, driver) => {
  let nodes: RedisNode[];
  let node: RedisNode;

  beforeAll(async () => {
    nodes = await startRedisNodes(3);
    node = nodes[0]!;
  });

  test("names the runner after the host and port", () => {
    const runner = createIoredisRunner(driver.redis(node.url));
    expect(runner.name).toBe(`redis://127.0.0.1:${node.port}`);
    expect(createIoredisRunner(driver.redis(node.url), { name: "primary" }).name).toBe("primary");
  });

  test("acquires, extends and releases a lock on one node", async () => {
    const redlock = new Redlock([driver.redis(node.url)]);
    const k = key(label);
    const lock = await redlock.acquire([k], 2000);
    expect(await respCall(node, "GET", k)).toBe(lock.value);
    const extended = await lock.extend(10_000);
    expect(Number(await respCall(node, "PTTL", k))).toBeGreaterThan(5000);
    expect((await extended.release()).outcome).toBe("released");
    expect(await respCall(node, "EXISTS", k)).toBe(0);
  });

  test("acquires, extends and releases a multi-resource lock on three nodes", async () => {
    const redlock = new Redlock(nodes.map((n) => driver.redis(n.url)));
    const other = new Redlock(
      nodes.map((n) => driver.redis(n.url)),
      { retryCount: 0 },
    );
    const keys = [key(label), key(label)];
    const lock = await redlock.acquire(keys, 2000);
    // Core decides at quorum; wait for the third node's vote before reading every node.
    await Promise.all(lock.attempts);
    for (const n of nodes) {
      for (const k of keys) expect(await respCall(n, "GET", k)).toBe(lock.value);
    }
    await expect(other.acquire([keys[1]!], 1000)).rejects.toBeInstanceOf(ResourceLockedError);
    const extended = await lock.extend(10_000);
    await Promise.all(extended.attempts);
    for (const n of nodes)
      expect(Number(await respCall(n, "PTTL", keys[0]!))).toBeGreaterThan(5000);
    const result = await extended.release();
    expect(result.outcome).toBe("released");
    await Promise.all(result.attempts);
    for (const n of nodes) expect(await respCall(n, "EXISTS", ...keys)).toBe(0);
    await expect(other.acquire(keys, 1000)).resolves.toBeDefined();
  });

  test("falls back to EVAL once after SCRIPT FLUSH, then uses EVALSHA again", async () => {
    const client = driver.redis(node.url);
    const evalSpy = jest.spyOn(client, "eval");
    const evalshaSpy = jest.spyOn(client, "evalsha");
    const redlock = new Redlock([client]);
    await (await redlock.acquire([key(label)], 1000)).release();
    await respCall(node, "SCRIPT", "FLUSH");
    expect(await respCall(node, "SCRIPT", "EXISTS", acquire.sha1)).toEqual([0]);
    evalSpy.mockClear();
    evalshaSpy.mockClear();

    const lock = await redlock.acquire([key(label)], 1000);
    expect(await respCall(node, "SCRIPT", "EXISTS", acquire.sha1)).toEqual([1]);
    expect(evalshaSpy).toHaveBeenCalledTimes(1);
    expect(evalSpy).toHaveBeenCalledTimes(1);
    expect(evalSpy.mock.calls[0]![0]).toBe(acquire.source);

    await lock.extend(1000);
    expect(evalSpy).toHaveBeenCalledTimes(2);
    expect(evalshaSpy).toHaveBeenCalledTimes(2);
    await redlock.acquire([key(label)], 1000);
    expect(evalSpy).toHaveBeenCalledTimes(2);
  });

  test("wraps client errors with the runner's name and a copy of the original as cause", async () => {
    const proxy = await startFaultProxy({ port: node.port });
    const runner = createIoredisRunner(driver.redis(proxy.url));
    const k = key(label);
    await expect(runner.run(acquire, [k], ["v", 1000])).resolves.toBe(1);
    proxy.reset();
    // The reset ends a client that does not reconnect: it says so, and what to do.
    const error = (await rejection(runner.run(acquire, [k], ["v", 1000]))) as NodeError;
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.code).toBe("NODE_UNREACHABLE");
    expect(error.node).toBe(`redis://127.0.0.1:${proxy.port}`);
    expect(error.message).toMatch(/^\[redis:\/\/127\.0\.0\.1:\d+\] the client is closed: /);
    expect(error.cause).toMatchObject({ message: "Connection is closed." });

    const script = createScript("acquire", "return redis.error_reply('BOOM failed')");
    const failed = (await rejection(
      createIoredisRunner(driver.redis(node.url)).run(script, [k], []),
    )) as NodeError;
    expect(failed).toMatchObject({ code: "NODE_ERROR", cause: { message: "BOOM failed" } });
    expect(failed.message).toMatch(/^\[redis:\/\/127\.0\.0\.1:\d+\] BOOM failed$/);
  });

  test("a stopped node fails with a NodeUnreachableError; the other nodes still grant the lock", async () => {
    const lone = await startRedis();
    const clients = [
      driver.redis(lone.url),
      driver.redis(nodes[1]!.url),
      driver.redis(nodes[2]!.url),
    ];
    await clients[0]!.get("warm-up");
    await lone.stop();
    const redlock = new Redlock(clients, { retryCount: 0 });
    const errors: unknown[] = [];
    redlock.on("error", (error) => errors.push(error));
    await (await redlock.acquire([key(label)], 1000)).release();
    expect(errors[0]).toBeInstanceOf(NodeError);
    expect((errors[0] as NodeError).node).toBe(`redis://127.0.0.1:${lone.port}`);
    // The client gave up reconnecting (no retryStrategy): it says so instead of waiting.
    expect(errors[0]).toBeInstanceOf(NodeUnreachableError);
    expect((errors[0] as NodeError).message).toMatch(/the client is closed/);

    const alone = new Redlock([clients[0]!], { retryCount: 0 });
    const error = await rejection(alone.acquire([key(label)], 1000));
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    expect(error.cause).toBeInstanceOf(NodeError);
  });

  test("rejects with NodeTimeoutError when no reply comes in time, leaving no timer", async () => {
    const proxy = await startFaultProxy({ port: node.port });
    const client = driver.redis(proxy.url);
    await client.get("warm-up");
    proxy.blackhole();
    const timers = watchTimers(300);
    try {
      const runner = createIoredisRunner(client, { timeout: 300 });
      const start = performance.now();
      const error = await rejection(runner.run(acquire, [key(label)], ["v", 1000]));
      const elapsed = performance.now() - start;
      expect(error).toBeInstanceOf(NodeTimeoutError);
      expect(error.message).toBe(`[redis://127.0.0.1:${proxy.port}] no reply within 300 ms`);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2000);
      expect(timers.created).toBe(1);
      expect(timers.pending).toBe(0);
    } finally {
      timers.restore();
      proxy.pass();
    }
  });

  test("clears its timer as soon as the reply arrives", async () => {
    const timers = watchTimers(4321);
    try {
      const runner = createIoredisRunner(driver.redis(node.url), { timeout: 4321 });
      for (let i = 0; i < 5; i++) await runner.run(acquire, [key(label)], ["v", 1000]);
      expect(timers.created).toBe(5);
      expect(timers.pending).toBe(0);
    } finally {
      timers.restore();
    }
  });

  test("stops waiting when core aborts the signal", async () => {
    let proxy: FaultProxy | undefined;
    const timers = watchTimers(5000);
    try {
      proxy = await startFaultProxy({ port: nodes[2]!.port });
      const slow = driver.redis(proxy.url);
      await slow.get("warm-up");
      proxy.blackhole();
      const redlock = new Redlock(
        [driver.redis(nodes[0]!.url), driver.redis(nodes[1]!.url), slow],
        {
          nodeTimeout: 1000,
          retryCount: 0,
        },
      );
      const errors: unknown[] = [];
      redlock.on("error", (error) => errors.push(error));
      const lock = await redlock.acquire([key(label)], 5000);
      const released = await lock.release();
      // Both calls to the silent node end at core's deadline, not at the runner's own 5 s one.
      await Promise.all([...lock.attempts, ...released.attempts]);
      const timeouts = errors.filter((e) => e instanceof NodeTimeoutError);
      expect(timeouts.map((e) => e.message)).toEqual([
        `[redis://127.0.0.1:${proxy.port}] no reply within 1000 ms`,
        `[redis://127.0.0.1:${proxy.port}] no reply within 1000 ms`,
      ]);
      // Under core, calls are bounded by core's signal: the runner starts no timer of its own.
      expect(timers.created).toBe(0);
      expect(timers.pending).toBe(0);

      const controller = new AbortController();
      const runner = createIoredisRunner(slow);
      const pending = rejection(
        runner.run(acquire, [key(label)], ["v", 1000], { signal: controller.signal }),
      );
      controller.abort(new Error("gave up"));
      const error = await pending;
      expect(error).toBeInstanceOf(NodeError);
      expect(error).not.toBeInstanceOf(NodeTimeoutError);
      expect((error.cause as Error).message).toBe("gave up");
      expect(timers.pending).toBe(0);
    } finally {
      timers.restore();
      proxy?.pass();
    }
  });

  test("reads integers from a client with stringNumbers", async () => {
    const redlock = new Redlock([driver.redis(node.url, { stringNumbers: true })]);
    const lock = await redlock.acquire([key(label)], 1000);
    expect((await (await lock.extend(1000)).release()).outcome).toBe("released");
  });

  test("keys carry the client's keyPrefix", async () => {
    const redlock = new Redlock([driver.redis(node.url, { keyPrefix: "app:" })]);
    const k = key(label);
    const lock = await redlock.acquire([k], 1000);
    expect(await respCall(node, "GET", `app:${k}`)).toBe(lock.value);
    await lock.release();
  });

  test("redlock.quit() closes a client that is reconnecting with a command queued", async () => {
    const proxy = await startFaultProxy({ port: node.port });
    const client = driver.redis(proxy.url, { retryStrategy: () => 50 });
    await client.get("warm-up");
    const timers = watchTimers(5000);
    try {
      const redlock = new Redlock([client], { retryCount: 0, nodeTimeout: 10_000 });
      proxy.reset();
      await eventually(() => expect(client.status).toBe("reconnecting"));
      const pending = rejection(redlock.acquire([key(label)], 20_000));
      await redlock.quit();
      expect(await pending).toBeInstanceOf(QuorumUnreachableError);
      expect(timers.pending).toBe(0);
      proxy.pass();
      await sleep(200);
      expect(proxy.connectionCount).toBe(0);
    } finally {
      timers.restore();
    }
  });

  test("redlock.quit() closes every client, and again is a no-op", async () => {
    const clients = [driver.redis(nodes[0]!.url), driver.redis(nodes[1]!.url)];
    const redlock = new Redlock(clients);
    await (await redlock.acquire([key(label)], 1000)).release();
    await redlock.quit();
    await eventually(() => expect(clients.map((c) => c.status)).toEqual(["end", "end"]));
    await expect(redlock.quit()).resolves.toBeUndefined();
  });
});
