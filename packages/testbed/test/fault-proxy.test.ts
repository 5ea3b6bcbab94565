import { type RedisNode, startFaultProxy, startRedis, teardownAll } from "../src";
import { client, closeClients, timed } from "./helpers";

let node: RedisNode;

beforeAll(async () => {
  node = await startRedis();
});
afterEach(() => closeClients());
afterAll(() => teardownAll());

test("pass forwards traffic", async () => {
  const proxy = await startFaultProxy(node);
  expect(proxy.port).not.toBe(node.port);
  const redis = client(proxy.url);
  await redis.set("p", "1");
  expect(await client(node.url).get("p")).toBe("1");
  expect(proxy.connectionCount).toBe(1);
  await proxy.close();
});

test("delay adds latency to existing connections, per direction", async () => {
  const proxy = await startFaultProxy(node);
  const redis = client(proxy.url);
  await redis.ping();
  const base = await timed(redis.ping());
  proxy.delay(100);
  const both = await timed(redis.ping());
  proxy.delay(100, "toClient");
  const one = await timed(redis.ping());
  proxy.pass();
  const after = await timed(redis.ping());
  expect(base.ms).toBeLessThan(100);
  expect(both.ms).toBeGreaterThanOrEqual(190);
  expect(one.ms).toBeGreaterThanOrEqual(95);
  expect(one.ms).toBeLessThan(both.ms);
  expect(after.ms).toBeLessThan(100);
  await proxy.close();
});

test("delay applies to new connections and keeps order", async () => {
  const proxy = await startFaultProxy(node, { delay: 50 });
  const redis = client(proxy.url);
  const results = await Promise.all([redis.incr("c"), redis.incr("c"), redis.incr("c")]);
  expect(results).toEqual([1, 2, 3]);
  await proxy.close();
});

test("blackhole times out; held bytes arrive after healing", async () => {
  const proxy = await startFaultProxy(node);
  const redis = client(proxy.url, { commandTimeout: 200 });
  await redis.ping();
  proxy.blackhole();
  const lost = await timed(redis.set("bh", "late"));
  expect(String(lost.error)).toMatch(/timed out/i);
  expect(lost.ms).toBeGreaterThanOrEqual(190);
  expect(await client(node.url).get("bh")).toBeNull();
  const fresh = client(proxy.url, { commandTimeout: 200 });
  expect(String((await timed(fresh.ping())).error)).toMatch(/timed out/i);
  proxy.pass();
  expect(await redis.get("bh")).toBe("late");
  await proxy.close();
});

test("reset errors fast on existing and new connections", async () => {
  const proxy = await startFaultProxy(node);
  const redis = client(proxy.url);
  await redis.ping();
  proxy.blackhole();
  const inFlight = timed(redis.ping());
  await new Promise((r) => setTimeout(r, 20));
  const resetAt = performance.now();
  proxy.reset();
  const existing = await inFlight;
  expect(String(existing.error)).toMatch(/ECONNRESET|Connection is closed/);
  expect(performance.now() - resetAt).toBeLessThan(150);
  const fresh = client(proxy.url, { lazyConnect: true });
  const attempt = await timed(fresh.connect().then(() => fresh.ping()));
  expect(String(attempt.error)).toMatch(/ECONNRESET|Connection is closed/);
  expect(attempt.ms).toBeLessThan(150);
  proxy.pass();
  expect(await client(proxy.url).ping()).toBe("PONG");
  await proxy.close();
});
