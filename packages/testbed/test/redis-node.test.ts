import { Redis } from "ioredis";
import { RedisNode, respCall, startRedis, startRedisNodes, teardownAll } from "../src";
import { client, closeClients, isAlive } from "./helpers";

afterEach(() => closeClients());
afterAll(() => teardownAll());

test("starts on a free loopback port and answers PING", async () => {
  const node = await startRedis();
  expect(node).toBeInstanceOf(RedisNode);
  expect(node.host).toBe("127.0.0.1");
  expect(node.port).toBeGreaterThan(0);
  expect(node.port).not.toBe(6379);
  expect(node.url).toBe(`redis://127.0.0.1:${node.port}`);
  expect(node.pid && isAlive(node.pid)).toBe(true);
  expect(await client(node.url).ping()).toBe("PONG");
  const config = (await respCall(node, "CONFIG", "GET", "appendonly")) as string[];
  expect(config).toEqual(["appendonly", "no"]);
  const save = (await respCall(node, "CONFIG", "GET", "save")) as string[];
  expect(save).toEqual(["save", ""]);
  const pid = node.pid!;
  await node.stop();
  expect(isAlive(pid)).toBe(false);
});

test("startRedisNodes spawns distinct nodes; enableDebug allows DEBUG SLEEP", async () => {
  const nodes = await startRedisNodes(3, { enableDebug: true });
  expect(new Set(nodes.map((n) => n.port)).size).toBe(3);
  const redis = client(nodes[0]!.url);
  expect(await redis.call("DEBUG", "SLEEP", "0")).toBe("OK");
  await Promise.all(nodes.map((n) => n.stop()));
});

test("DEBUG is refused without enableDebug", async () => {
  const node = await startRedis();
  await expect(client(node.url).call("DEBUG", "SLEEP", "0")).rejects.toThrow(/DEBUG/);
  await node.stop();
});

test("a command issued while paused completes after resume", async () => {
  const node = await startRedis();
  const redis = client(node.url);
  await redis.set("k", "v");
  node.pause();
  expect(node.paused).toBe(true);
  let done = false;
  const pending = redis.get("k").then((v) => {
    done = true;
    return v;
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(done).toBe(false);
  node.resume();
  expect(await pending).toBe("v");
  await node.stop();
});

test("kill and restart without AOF loses data; the port and dir are kept", async () => {
  const node = await startRedis();
  const { port, dir } = node;
  const oldPid = node.pid!;
  await client(node.url).set("k", "v");
  node.pause();
  await node.kill();
  expect(node.running).toBe(false);
  expect(node.pid).toBeUndefined();
  expect(isAlive(oldPid)).toBe(false);
  await node.restart();
  expect(node.port).toBe(port);
  expect(node.dir).toBe(dir);
  expect(node.pid).not.toBe(oldPid);
  expect(await client(node.url).get("k")).toBeNull();
  await node.stop();
});

test("kill and restart with AOF appendfsync always keeps data; delayMs keeps it down", async () => {
  const node = await startRedis({ appendonly: true, appendfsync: "always" });
  await client(node.url).set("k", "v");
  await node.kill();
  const start = Date.now();
  const restarting = node.restart({ delayMs: 300 });
  await new Promise((r) => setTimeout(r, 100));
  const probe = new Redis(node.url, { retryStrategy: () => null, lazyConnect: true });
  probe.on("error", () => {});
  await expect(probe.connect()).rejects.toThrow();
  probe.disconnect();
  await restarting;
  expect(Date.now() - start).toBeGreaterThanOrEqual(300);
  expect(await client(node.url).get("k")).toBe("v");
  await node.stop();
});

test("restart can switch persistence off and on", async () => {
  const node = await startRedis();
  await node.restart({ appendonly: true, appendfsync: "always" });
  await client(node.url).set("k", "v");
  await node.restart();
  expect(await client(node.url).get("k")).toBe("v");
  await node.restart({ appendonly: false });
  const config = (await respCall(node, "CONFIG", "GET", "appendonly")) as string[];
  expect(config[1]).toBe("no");
  await node.stop();
});

test("teardownAll kills every tracked process, paused ones included", async () => {
  const nodes = await startRedisNodes(2);
  nodes[0]!.pause();
  const pids = nodes.map((n) => n.pid!);
  await teardownAll();
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
});
