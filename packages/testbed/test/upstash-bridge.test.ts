import { Redis as Upstash } from "@upstash/redis";
import {
  type RedisNode,
  startRedis,
  startUpstashBridge,
  teardownAll,
  type UpstashBridge,
} from "../src";
import { client, closeClients, eventually, timed } from "./helpers";

let node: RedisNode;
let bridge: UpstashBridge;
let upstash: Upstash;

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

beforeAll(async () => {
  node = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: node.url });
  upstash = new Upstash({ url: bridge.url, token: bridge.token, enableTelemetry: false });
});
beforeEach(async () => {
  bridge.clearFaults();
  bridge.requests.length = 0;
  await client(node.url).flushall();
});
afterEach(() => closeClients());
afterAll(() => teardownAll());

test("set/get round-trips strings through base64 encoding; numeric strings are deserialized", async () => {
  expect(await upstash.set("a", "hello")).toBe("OK");
  expect(await upstash.get("a")).toBe("hello");
  await upstash.set("b", "test");
  expect(await upstash.get("b")).toBe("test");
  await upstash.set("c", "héllo ✓ 🔒");
  expect(await upstash.get("c")).toBe("héllo ✓ 🔒");
  await upstash.set("d", "1234");
  expect(await upstash.get("d")).toBe(1234);
  expect(await client(node.url).get("c")).toBe("héllo ✓ 🔒");
  expect(bridge.requests.every((r) => r.path === "/pipeline" && r.status === 200)).toBe(true);
});

test("set nx px, pttl and concurrent commands go through auto-pipelining", async () => {
  const [first, second, ttl] = await Promise.all([
    upstash.set("lock", "me", { nx: true, px: 5000 }),
    upstash.set("lock", "you", { nx: true, px: 5000 }),
    upstash.pttl("lock"),
  ]);
  expect(first).toBe("OK");
  expect(second).toBeNull();
  expect(ttl).toBeGreaterThan(4000);
  expect(bridge.requests.length).toBeLessThanOrEqual(2);
  expect(bridge.requests.every((r) => r.path === "/pipeline")).toBe(true);
});

test("eval, scriptLoad/evalsha, NOSCRIPT after SCRIPT FLUSH and createScript fallback", async () => {
  await upstash.set("lock", "tok");
  expect(await upstash.eval(RELEASE, ["lock"], ["other"])).toBe(0);
  expect(await upstash.eval(`return {1,"two",{3,"four"},false}`, [], [])).toEqual([
    1,
    "two",
    [3, "four"],
    null,
  ]);
  expect(await upstash.eval(`return redis.status_reply("PONG")`, [], [])).toBe("PONG");
  const sha = await upstash.scriptLoad(RELEASE);
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  expect(await upstash.evalsha(sha, ["lock"], ["tok"])).toBe(1);
  await upstash.scriptFlush();
  await expect(upstash.evalsha(sha, ["lock"], ["tok"])).rejects.toThrow(
    "Command failed: NOSCRIPT No matching script. Please use EVAL.",
  );

  await upstash.set("lock", "tok2");
  const script = upstash.createScript<number>(RELEASE);
  bridge.requests.length = 0;
  expect(await script.exec(["lock"], ["tok2"])).toBe(1);
  const sent = bridge.requests.map((r) => JSON.stringify(r.body));
  expect(sent[0]).toContain('"evalsha"');
  expect(sent[1]).toContain('"eval"');
  await upstash.set("lock", "tok3");
  expect(await upstash.evalsha(sha, ["lock"], ["tok3"])).toBe(1);
});

test("Lua errors keep the Redis text", async () => {
  await expect(upstash.eval(`return redis.error_reply("LOCKERR x")`, [], [])).rejects.toThrow(
    "LOCKERR x",
  );
  await expect(upstash.eval(`return redis.call("incr", "a", "b")`, [], [])).rejects.toThrow(
    /ERR Wrong number of args/,
  );
});

test("single-command route answers 400 with the verbatim Redis error", async () => {
  const single = new Upstash({
    url: bridge.url,
    token: bridge.token,
    enableAutoPipelining: false,
    enableTelemetry: false,
  });
  expect(await single.set("s", "v")).toBe("OK");
  expect(await single.get("s")).toBe("v");
  await expect(single.evalsha("0".repeat(40), [], [])).rejects.toThrow(
    `NOSCRIPT No matching script. Please use EVAL., command was: ["evalsha","${"0".repeat(40)}",0]`,
  );
  expect(bridge.requests.map((r) => [r.path, r.status])).toEqual([
    ["/", 200],
    ["/", 200],
    ["/", 400],
  ]);
});

test("pipeline returns per-command results and errors", async () => {
  await upstash.set("n", "x");
  const p = upstash.pipeline();
  p.set("k", "v");
  p.get("k");
  p.incr("n");
  await expect(p.exec()).rejects.toThrow(
    "Command 3 [ incr ] failed: ERR value is not an integer or out of range",
  );
  const q = upstash.pipeline();
  q.get("k");
  q.incr("n");
  const out = await q.exec({ keepErrors: true });
  expect(out[0]).toEqual({ error: undefined, result: "v" });
  expect(out[1]?.error).toBe("ERR value is not an integer or out of range");
});

test("multi runs atomically", async () => {
  const tx = upstash.multi();
  tx.set("m", "1");
  tx.incr("m");
  tx.incr("m");
  expect(await tx.exec()).toEqual(["OK", 2, 3]);
  expect(bridge.requests.at(-1)?.path).toBe("/multi-exec");
});

test("raw protocol: EXECABORT is a 400, unknown paths 404, non-POST 405", async () => {
  const post = (path: string, body: unknown) =>
    fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.token}` },
      body: JSON.stringify(body),
    });
  const aborted = await post("/multi-exec", [["set", "m", "1"], ["nosuchcommand"]]);
  expect(aborted.status).toBe(400);
  expect(((await aborted.json()) as { error: string }).error).toMatch(/^EXECABORT/);
  expect(await client(node.url).get("m")).toBeNull();
  const piped = await post("/pipeline", [["set", "m", 1], ["nosuchcommand"], ["get", "m"]]);
  expect(await piped.json()).toEqual([
    { result: "OK" },
    { error: expect.stringMatching(/^ERR unknown command/) },
    { result: "1" },
  ]);
  expect((await post("/nope", ["get", "m"])).status).toBe(404);
  const get = await fetch(bridge.url, { headers: { authorization: `Bearer ${bridge.token}` } });
  expect(get.status).toBe(405);
});

test("a wrong token is rejected with 401 Unauthorized", async () => {
  const wrong = new Upstash({ url: bridge.url, token: "nope", enableTelemetry: false });
  await expect(wrong.get("k")).rejects.toThrow(/^Unauthorized, command was: \[\["get","k"\]\]$/);
  expect(bridge.requests.at(-1)?.status).toBe(401);
});

test("dropResponse on SET NX: the retry re-runs it and the acquire reads as failed", async () => {
  bridge.dropResponse(1);
  const result = await upstash.set("L", "me", { nx: true, px: 5000 });
  expect(result).toBeNull();
  const direct = client(node.url);
  expect(await direct.get("L")).toBe("me");
  expect(await direct.pttl("L")).toBeGreaterThan(4000);
  expect(bridge.requests.map((r) => r.outcome)).toEqual(["dropped-response", "ok"]);
});

test("dropResponse on every attempt: each retry re-executes, then a network error", async () => {
  const fast = new Upstash({
    url: bridge.url,
    token: bridge.token,
    enableTelemetry: false,
    retry: { retries: 2, backoff: () => 10 },
  });
  bridge.dropResponse();
  const failed = await timed(fast.incr("counter"));
  expect(String(failed.error)).toMatch(/fetch failed/);
  bridge.clearFaults();
  expect(bridge.requests.map((r) => r.outcome)).toEqual([
    "dropped-response",
    "dropped-response",
    "dropped-response",
  ]);
  expect(await client(node.url).get("counter")).toBe("3");
});

test("dropRequest: the command did not run, the retry succeeds", async () => {
  bridge.dropRequest(1);
  expect(await upstash.set("L", "me", { nx: true, px: 5000 })).toBe("OK");
  expect(bridge.requests.map((r) => r.outcome)).toEqual(["dropped-request", "ok"]);
});

test("status5xx is not retried by the client", async () => {
  bridge.status5xx(502, 1);
  await expect(upstash.get("k")).rejects.toThrow(/Injected failure/);
  expect(bridge.requests).toHaveLength(1);
  expect(await upstash.get("k")).toBeNull();
});

test("delay hook adds latency", async () => {
  await upstash.get("k");
  bridge.delay(150);
  const slow = await timed(upstash.get("k"));
  expect(slow.ms).toBeGreaterThanOrEqual(145);
});

test("delay(ms, times) delays only the next `times` requests", async () => {
  bridge.delay(4000, 1);
  const slow = upstash.get("k");
  await eventually(async () => expect(bridge.requests).toHaveLength(1));
  expect(await upstash.set("k", "v")).toBe("OK");
  // The second request was answered while the first one still waits.
  expect(bridge.requests.map((r) => r.status)).toEqual([undefined, 200]);
  expect(await slow).toBe("v");
  expect(bridge.requests.map((r) => r.status)).toEqual([200, 200]);
});

test("Redis unreachable answers 500 quickly", async () => {
  const other = await startRedis();
  const b = await startUpstashBridge({ redisUrl: other.url, token: "t" });
  const u = new Upstash({ url: b.url, token: "t", enableTelemetry: false });
  expect(await u.set("k", "v")).toBe("OK");
  await other.kill();
  const failed = await timed(u.get("k"));
  expect(String(failed.error)).toMatch(/Redis unreachable/);
  expect(failed.ms).toBeLessThan(1000);
  expect(b.requests.at(-1)?.status).toBe(500);
  await other.restart();
  expect(await eventually(() => u.get("k"))).toBeNull();
  await b.close();
});
