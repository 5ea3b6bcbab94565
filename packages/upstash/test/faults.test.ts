import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { Redlock as CoreRedlock } from "@redlock/core";
import { createScript } from "@redlock/core/adapter";
import { teardownAll } from "@redlock/testbed";
import {
  createUpstashRunner,
  type ExecutionError,
  type NodeError,
  NodeTimeoutError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
  ResourceLockedError,
  UnexpectedReplyError,
  type UpstashClient,
} from "../src";
import {
  type ClientFactory,
  call,
  clientFor,
  commandsSeen,
  type Database,
  drivers,
  rejection,
  resetDatabases,
  sleep,
  startDatabases,
  textsOf,
} from "./helpers";

let databases: Database[];

beforeAll(async () => {
  databases = await startDatabases(3);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterEach(async () => {
  jest.restoreAllMocks();
  // Core sends the release of a failed attempt without waiting; let it land before the next
  // test resets the bridges' faults and logs.
  await sleep(50);
});
afterAll(() => teardownAll());

const once = { retryCount: 0 } as const;

/** A Redlock that records its `error` events. */
function observed(clients: Iterable<UpstashClient>, options: RedlockOptions = {}) {
  const redlock = new Redlock(clients, { ...once, ...options });
  const events: NodeError[] = [];
  redlock.on("error", (error) => events.push(error));
  return { redlock, events };
}

/** The one node error a single-node acquisition failed with (`QuorumUnreachableError.cause`). */
function nodeErrorOf(error: Error): NodeError {
  expect(error).toBeInstanceOf(QuorumUnreachableError);
  const cause = (error as ExecutionError).cause as NodeError;
  expect(cause).toMatchObject({ name: expect.any(String), node: expect.any(String) });
  return cause;
}

/** What this library's lock values look like (a SHA-1, 40 hex characters, does not match). */
const LOCK_VALUE = /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/i;

/** The lock values (ARGV[1] of acquire, extend and release) the bridges received. */
function lockValuesSent(...dbs: readonly Database[]): string[] {
  return dbs.flatMap(({ bridge }) =>
    bridge.requests.flatMap((request) => {
      // Requests refused before they ran keep their raw text.
      const body: unknown =
        typeof request.body === "string" ? JSON.parse(request.body) : request.body;
      const commands = Array.isArray(body) && Array.isArray(body[0]) ? body : [body];
      return (commands as unknown[][])
        .filter((command) => /^eval/i.test(String(command[0])))
        .map((command) => String(command[3 + Number(command[2])]));
    }),
  );
}

/**
 * None of `secrets`, and nothing shaped like a lock value, in `values` as every string they
 * reach and as `util.inspect` shows them with hidden fields at any depth.
 */
function expectNoSecret(secrets: readonly string[], ...values: unknown[]): void {
  const texts = values.flatMap((value) => textsOf(value));
  expect(texts.length).toBeGreaterThan(0);
  texts.push(...values.map((value) => inspect(value, { depth: Infinity, showHidden: true })));
  for (const secret of secrets) {
    expect(texts.filter((text) => text.includes(secret))).toEqual([]);
  }
  expect(texts.filter((text) => LOCK_VALUE.test(text))).toEqual([]);
}

describe.each(drivers)("%s", (_label, make: ClientFactory) => {
  const db = () => databases[0]!;
  const name = () => `upstash:${db().bridge.url}`;

  test("a 401 for a wrong token is wrapped with the node's name, and no token leaks", async () => {
    const wrong = randomBytes(24).toString("hex");
    const { redlock, events } = observed([clientFor(make, db(), { token: wrong })]);
    const error = await rejection(redlock.acquire("a", 5000));
    const nodeError = nodeErrorOf(error);
    expect(nodeError.message).toBe(`[${name()}] Unauthorized`);
    expect(nodeError.node).toBe(name());
    expect(nodeError.cause).toMatchObject({ name: "UpstashError" });
    expect((nodeError.cause as Error).message).toBe("Unauthorized");
    expect(events).toContain(nodeError);
    const values = lockValuesSent(db());
    expect(values.length).toBeGreaterThan(0);
    expectNoSecret([wrong, db().bridge.token, ...values], error, events);
  });

  test("a 5xx answer is wrapped with name and cause", async () => {
    db().bridge.status5xx(502);
    const { redlock, events } = observed([clientFor(make, db())]);
    const error = await rejection(redlock.acquire("a", 5000));
    const nodeError = nodeErrorOf(error);
    expect(nodeError.message).toBe(`[${name()}] Injected failure`);
    expect(nodeError.cause).toMatchObject({ name: "UpstashError" });
    expect(db().bridge.requests.map((r) => r.status)).toEqual([502]);
    const values = lockValuesSent(db());
    expect(values.length).toBeGreaterThan(0);
    expectNoSecret([db().bridge.token, ...values], error, events);
  });

  test("a dropped request is retried by the client, then wrapped when every try fails", async () => {
    db().bridge.dropRequest(1);
    const { redlock } = observed([clientFor(make, db())]);
    await (await redlock.acquire("a", 5000)).release();
    expect(db().bridge.requests[0]?.outcome).toBe("dropped-request");

    db().bridge.dropRequest();
    const retries = { retries: 1, backoff: () => 5 };
    const failing = observed([clientFor(make, db(), { retry: retries })]);
    const error = await rejection(failing.redlock.acquire("a", 5000));
    const nodeError = nodeErrorOf(error);
    expect(nodeError.message).toBe(`[${name()}] fetch failed`);
    expect(nodeError.cause).toMatchObject({ name: "TypeError", message: "fetch failed" });
    expect(failing.events).toEqual([nodeError]);
    expectNoSecret([db().bridge.token], error, failing.events);
  });

  test.each([
    ["cached (EVALSHA)", true],
    ["not cached (EVALSHA, then EVAL)", false],
  ])(
    "a lost reply to the acquire script, script %s: the client retries the write and the lock is held",
    async (_case, cached) => {
      const redlock = new Redlock([clientFor(make, db())], once);
      const { acquireScript } = redlock.scripts;
      const { bridge, node } = db();
      if (cached) {
        await call(node, "SCRIPT", "LOAD", acquireScript.source);
        bridge.dropResponse(1);
      } else {
        // Drop the reply to the EVAL that follows NOSCRIPT: the bridge logs a request as it
        // arrives, before it runs it.
        const log = bridge.requests.push.bind(bridge.requests);
        let armed = true;
        jest.spyOn(bridge.requests, "push").mockImplementation((...records) => {
          if (armed && String(records[0]?.body).includes('"eval"')) {
            armed = false;
            bridge.dropResponse(1);
          }
          return log(...records);
        });
      }

      const lock = await redlock.acquire("a", 5000);
      expect(await call(db().node, "GET", "a")).toBe(lock.value);
      const outcomes = db().bridge.requests.map((r) => r.outcome);
      expect(outcomes.slice(-2)).toEqual(["dropped-response", "ok"]);
      const written = cached ? "evalsha" : "eval";
      expect(commandsSeen(db().bridge).slice(-2)).toEqual([[written], [written]]);
      expect((await lock.release()).outcome).toBe("released");
    },
  );

  test("a lost reply on one of three nodes: every node grants, the lock is held", async () => {
    const redlock = new Redlock(
      databases.map((d) => clientFor(make, d)),
      once,
    );
    const { acquireScript } = redlock.scripts;
    for (const d of databases) await call(d.node, "SCRIPT", "LOAD", acquireScript.source);
    const faulty = databases[1]!;
    faulty.bridge.dropResponse(1);

    const lock = await redlock.acquire("a", 5000);
    const stats = await lock.attempts[lock.attempts.length - 1];
    expect(stats?.votesFor.size).toBe(3);
    for (const d of databases) expect(await call(d.node, "GET", "a")).toBe(lock.value);
    expect(faulty.bridge.requests.map((r) => r.outcome)).toEqual(["dropped-response", "ok"]);
    expect((await lock.release()).outcome).toBe("released");
    await redlock.idle(); // decided at quorum: every bridge hears it before the next test
  });

  test("a bridge slower than the runner's timeout gives NodeTimeoutError", async () => {
    db().bridge.delay(400);
    const runner = createUpstashRunner(clientFor(make, db()), { timeout: 100 });
    const script = createScript("acquire", "return 1");
    const started = Date.now();
    const direct = await rejection(runner.run(script, [], []));
    expect(Date.now() - started).toBeLessThan(300);
    expect(direct).toBeInstanceOf(NodeTimeoutError);
    expect(direct.message).toBe(`[${name()}] no reply within 100 ms`);

    const redlock = new CoreRedlock([runner], { ...once, nodeTimeout: 1000 });
    const events: NodeError[] = [];
    redlock.on("error", (error) => events.push(error));
    const error = await rejection(redlock.acquire("a", 5000));
    const nodeError = nodeErrorOf(error);
    expect(nodeError).toBeInstanceOf(NodeTimeoutError);
    expect(nodeError.message).toBe(`[${name()}] no reply within 100 ms`);
    expectNoSecret([db().bridge.token], error, events);
    // The release of the failed attempt goes out once its acquire settled: let both land.
    await redlock.quit();
  });

  test("stops waiting when the signal aborts, and sends nothing more (no EVAL fallback) afterwards", async () => {
    db().bridge.delay(300);
    const runner = createUpstashRunner(clientFor(make, db()));
    const script = createScript("acquire", "return 1");
    const controller = new AbortController();
    const pending = runner.run(script, [], [], { signal: controller.signal });
    const reason = new NodeTimeoutError(name(), 50);
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    expect(await rejection(pending)).toBe(reason);
    expect(Date.now() - started).toBeLessThan(250);

    const other = new AbortController();
    other.abort(new Error("gone"));
    const error = await rejection(runner.run(script, [], [], { signal: other.signal }));
    expect(error).toMatchObject({
      message: `[${name()}] stopped waiting for a reply`,
      code: "NODE_ERROR",
      cause: { message: "gone" },
    });
    await sleep(300);
    expect(db().bridge.requests).toHaveLength(1);
  });

  test("no timer is left behind: after a reply, and after core's own timeout aborts", async () => {
    const setSpy = jest.spyOn(globalThis, "setTimeout");
    const clearSpy = jest.spyOn(globalThis, "clearTimeout");
    const timeout = 54_321;
    const ours = () =>
      setSpy.mock.calls.flatMap((args, i) =>
        args[1] === timeout ? [setSpy.mock.results[i]?.value] : [],
      );
    const runner = createUpstashRunner(clientFor(make, db()), { timeout });

    const redlock = new CoreRedlock([runner], { ...once, nodeTimeout: 150 });
    await (await redlock.acquire("a", 5000)).release();
    expect(ours()).toHaveLength(2);

    db().bridge.delay(300);
    const error = await rejection(redlock.acquire("b", 5000));
    expect(nodeErrorOf(error)).toBeInstanceOf(NodeTimeoutError);
    // Core also sends a release of the failed attempt, itself aborted after 150 ms; the runner
    // sends it once the acquire's request settled. redlock.quit() waits for both.
    await redlock.quit();
    expect(ours()).toHaveLength(4);
    const cleared = new Set(clearSpy.mock.calls.map(([handle]) => handle));
    for (const handle of ours()) expect(cleared.has(handle)).toBe(true);
  });

  test("a null reply (client aborted by a static signal) is an error, never 'not acquired'", async () => {
    const signal = AbortSignal.abort();
    const client = clientFor(make, db(), { signal, enableAutoPipelining: false });
    const script = createScript("acquire", "return 1");
    await expect(createUpstashRunner(client).run(script, [], [])).resolves.toBeNull();

    const { redlock, events } = observed([client]);
    const error = await rejection(redlock.acquire("a", 5000));
    expect(error).not.toBeInstanceOf(ResourceLockedError);
    const nodeError = nodeErrorOf(error);
    expect(nodeError).toBeInstanceOf(UnexpectedReplyError);
    expect(nodeError).toMatchObject({ reply: null, node: name() });
    expect(events).toEqual([nodeError]);

    // With auto-pipelining (the default) the same client rejects instead.
    const pipelined = observed([clientFor(make, db(), { signal })]);
    const pipelinedError = nodeErrorOf(await rejection(pipelined.redlock.acquire("a", 5000)));
    expect(pipelinedError.message).toMatch(/^\[upstash:.*\] .*map is not a function/);
  });

  test("a Lua error from the EVAL fallback is wrapped, not mistaken for NOSCRIPT", async () => {
    const runner = createUpstashRunner(clientFor(make, db()));
    const script = createScript("acquire", 'return redis.error_reply("LOCKERR broken")');
    const error = await rejection(runner.run(script, ["k"], ["v"]));
    expect(error.message).toMatch(/^\[upstash:http:\/\/127\.0\.0\.1:\d+\] .*LOCKERR broken$/);
    expect(error.message).not.toMatch(/noscript/i);
    expect(commandsSeen(db().bridge)).toEqual([["evalsha"], ["eval"]]);
    expect((error.cause as Error).message).toContain("LOCKERR broken");
  });
});

describe("a server that echoes the token back", () => {
  let server: Server;
  let url: string;
  const token = randomBytes(24).toString("hex");

  beforeAll(async () => {
    server = createServer((req, res) => {
      const auth = String(req.headers.authorization);
      // Auto-pipelined clients get a JSON error, the others a text body.
      if (req.url?.includes("pipeline")) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `rejected ${auth}` }));
      } else {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`bad gateway for ${auth}`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test.each(drivers)("%s: the token is redacted from messages and causes", async (_label, make) => {
    const { redlock, events } = observed([make({ url, token })]);
    const json = await rejection(redlock.acquire("a", 5000));
    const jsonError = nodeErrorOf(json);
    expect(jsonError.message).toBe(`[upstash:${url}] rejected Bearer [redacted]`);

    const text = await rejection(
      observed([make({ url, token, enableAutoPipelining: false })]).redlock.acquire("a", 5000),
    );
    expect(nodeErrorOf(text).message).toMatch(/^\[upstash:http:\/\/127\.0\.0\.1:\d+\] /);
    expectNoSecret([token], json, text, events);
  });
});

describe("credentials are removed where they stand, not wherever their letters appear", () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Echoes what it was sent in the shapes servers and proxies use.
    server = createServer((req, res) => {
      const auth = String(req.headers.authorization);
      const token = auth.replace(/^Bearer /, "");
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: `denied ${auth}; {"authorization":"${token}"}; see https://user:${token}@example.test/v2?token=${token}&format=json`,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test.each(drivers)("%s: after Bearer, in a field, a URL and a query", async (_label, make) => {
    const token = `AX${randomBytes(30).toString("base64url")}`;
    const { redlock, events } = observed([make({ url, token, enableAutoPipelining: false })]);
    const error = nodeErrorOf(await rejection(redlock.acquire("a", 5000)));
    expect(error.message).toBe(
      `[upstash:${url}] denied Bearer [redacted]; {"authorization":"[redacted]"}; ` +
        "see https://[redacted]@example.test/v2?token=[redacted]&format=json",
    );
    expectNoSecret([token], error, events);
  });

  test.each(drivers)("%s: a short token leaves the words around it alone", async (_label, make) => {
    const { redlock } = observed([make({ url, token: "e", enableAutoPipelining: false })]);
    const error = nodeErrorOf(await rejection(redlock.acquire("a", 5000)));
    expect(error.message).toBe(
      `[upstash:${url}] denied Bearer [redacted]; {"authorization":"[redacted]"}; ` +
        "see https://[redacted]@example.test/v2?token=[redacted]&format=json",
    );
  });

  test.each(drivers)("%s: a network failure keeps its words", async (_label, make) => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const client = make({
      url: closed,
      token: "t",
      retry: { retries: 0, backoff: () => 0 },
      enableAutoPipelining: false,
    });
    const { redlock } = observed([client]);
    const error = nodeErrorOf(await rejection(redlock.acquire("a", 5000)));
    expect(error.message).toMatch(/fetch failed|ECONNREFUSED|Unable to connect/);
    expect(error.message).not.toContain("[redacted]");
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
