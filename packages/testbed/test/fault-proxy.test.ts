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
  proxy.delay(100);
  const both = await timed(redis.ping());
  expect(both.ms).toBeGreaterThanOrEqual(190);
  // Towards the client only: the command reaches the server while its reply is held.
  proxy.delay(60_000, "toClient");
  const popped = client(node.url).blpop("dir", 0);
  let replied = false;
  const pushed = redis.rpush("dir", "x").finally(() => {
    replied = true;
  });
  expect(await popped).toEqual(["dir", "x"]);
  expect(replied).toBe(false);
  // Back to pass: the held reply is delivered at once, not after the delay.
  proxy.pass();
  expect(await pushed).toBe(1);
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
  // The held SET reaches the server ahead of this GET on the same connection; the GET gets no
  // 200 ms deadline, which a loaded machine may miss.
  delete redis.options.commandTimeout;
  expect(await redis.get("bh")).toBe("late");
  await proxy.close();
});

test("reset errors fast on existing and new connections", async () => {
  const proxy = await startFaultProxy(node);
  const redis = client(proxy.url);
  await redis.ping();
  proxy.blackhole();
  // "Fast" is shown by the error, not by a clock: neither client has a command timeout, so
  // without the reset both would wait forever, and a connect timeout would be an ETIMEDOUT.
  const inFlight = redis.ping().then(
    () => undefined,
    (error: unknown) => error,
  );
  proxy.reset();
  expect(String(await inFlight)).toMatch(/ECONNRESET|Connection is closed/);
  const fresh = client(proxy.url, { lazyConnect: true });
  const attempt = await timed(fresh.connect().then(() => fresh.ping()));
  expect(String(attempt.error)).toMatch(/ECONNRESET|Connection is closed/);
  proxy.pass();
  expect(await client(proxy.url).ping()).toBe("PONG");
  await proxy.close();
});
