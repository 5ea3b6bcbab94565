import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { RELEASE_SCRIPT, releaseChannel } from "@redlock/core/adapter";
import { type BridgeRequest, teardownAll, type UpstashBridge } from "@redlock/testbed";
import {
  createUpstashRunner,
  InvalidArgumentError,
  NodeError,
  NodeTimeoutError,
  Redlock,
  type RedlockOptions,
  type ScriptRunner,
  type UpstashClient,
} from "../src";
import {
  type ClientConfig,
  type ClientFactory,
  call,
  clientFor,
  type Database,
  drivers,
  eventually,
  rejection,
  resetDatabases,
  startDatabases,
  textsOf,
} from "./helpers";

/**
 * Waiters woken by release announcements: `onRelease` over `redis.subscribe()` of
 * `@upstash/redis` 1.39, against redis-server behind the test bed's REST bridge, which serves
 * `/subscribe/<channel>` as server-sent events like Upstash does.
 */

const [[, upstash139], [, upstash134]] = drivers as [
  readonly [string, ClientFactory],
  readonly [string, ClientFactory],
];

const PACKAGE_DIR = resolve(__dirname, "..");
const DIST = join(PACKAGE_DIR, "dist", "index.cjs");

/**
 * Retries so far apart that only an announcement can bring an attempt forward within a test:
 * an acquisition in two attempts was woken by the release.
 */
const ANNOUNCED_ONLY: RedlockOptions = { retryCount: 5, retryDelay: 60_000, retryJitter: 0 };
/** Waiters give up well before the test's own timeout, with the library's error. */
const WAIT = { acquireTimeout: 15_000 } as const;
const LONG = 60_000;

let databases: Database[];
const closers: (() => Promise<unknown>)[] = [];

// Under Jest the AbortError that ends a stream comes from Node's realm, not the test's, so the
// client's `error instanceof Error` check fails and it logs every stream the runner aborts
// ("Stream reading error: … AbortError"). Plain Node and workerd pass that check: only these
// lines are left out of the output.
const consoleError = console.error.bind(console);
const abortNoise = (args: unknown[]) =>
  args[0] === "Stream reading error:" && (args[1] as Error | undefined)?.name === "AbortError";

beforeAll(async () => {
  jest.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    if (!abortNoise(args)) consoleError(...args);
  });
  databases = await startDatabases(3);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
  // Every test leaves the bridges without streams: nothing was left subscribed.
  expect(await eventually(async () => databases.every(({ bridge }) => bridge.streams === 0))).toBe(
    true,
  );
});
afterAll(async () => {
  await teardownAll();
  jest.restoreAllMocks();
});

/** A Redlock over one 1.39 client per database, closed after the test. */
function redlockOver(
  dbs: readonly Database[],
  options: RedlockOptions = ANNOUNCED_ONLY,
  config: Partial<ClientConfig> = {},
): Redlock {
  const redlock = new Redlock(
    dbs.map((db) => clientFor(upstash139, db, config)),
    options,
  );
  redlock.on("error", () => {});
  closers.push(() => redlock.quit());
  return redlock;
}

/** A runner over a 1.39 client of `db`, closed after the test. */
function runnerFor(db: Database, options: Parameters<typeof createUpstashRunner>[1] = {}) {
  const runner = createUpstashRunner(clientFor(upstash139, db), options);
  closers.push(() => runner.quit?.() ?? Promise.resolve());
  return runner as ScriptRunner & Required<Pick<ScriptRunner, "onRelease">>;
}

/** A listener and a promise that resolves on its first call. */
function heard(): { listener: () => void; called: Promise<void>; calls: () => number } {
  let calls = 0;
  let resolveCalled: () => void = () => {};
  const called = new Promise<void>((done) => {
    resolveCalled = done;
  });
  return {
    listener: () => {
      calls++;
      resolveCalled();
    },
    called,
    calls: () => calls,
  };
}

/** The pub/sub streams a bridge was asked for. */
function streamRequests(bridge: UpstashBridge): BridgeRequest[] {
  return bridge.requests.filter(({ path }) => /^\/p?subscribe\//.test(path));
}

/** Resolves once every bridge has `count` open streams (rejects after a generous bound). */
async function streamsOpen(dbs: readonly Database[], count = 1): Promise<void> {
  const open = () => Promise.resolve(dbs.every(({ bridge }) => bridge.streams === count));
  if (!(await eventually(open, 10_000))) {
    throw new Error(`expected ${count} open stream(s) per bridge, got ${streamCounts(dbs)}`);
  }
}

const streamCounts = (dbs: readonly Database[]) => dbs.map(({ bridge }) => bridge.streams);

describe("@upstash/redis 1.39: waiters are woken by releases", () => {
  test.each([
    ["auto-pipelining (the default)", true],
    ["auto-pipelining off", false],
  ])(
    "a release through one client wakes a waiter on another client, %s; its streams close after",
    async (_label, enableAutoPipelining) => {
      const holder = redlockOver(databases, ANNOUNCED_ONLY, { enableAutoPipelining });
      const waiter = redlockOver(databases, ANNOUNCED_ONLY, { enableAutoPipelining });
      const held = await holder.acquire(["job"], LONG);

      const pending = waiter.acquire(["job"], LONG, WAIT);
      await streamsOpen(databases);
      const channel = releaseChannel("job");
      for (const { bridge } of databases) expect(bridge.streamChannels).toEqual([channel]);

      expect((await held.release()).outcome).toBe("released");
      const lock = await pending;
      // The failed first attempt, then the one the announcement brought forward.
      expect(lock.attempts).toHaveLength(2);

      // The waiter left the queue: its streams are aborted, on the bridge and on Redis.
      expect(await eventually(async () => streamCounts(databases).every((n) => n === 0))).toBe(
        true,
      );
      for (const { bridge, node } of databases) {
        expect(streamRequests(bridge)).toEqual([
          {
            path: `/subscribe/${channel}`,
            body: ["subscribe", channel],
            status: 200,
            outcome: "ok",
          },
        ]);
        const unsubscribed = async () =>
          JSON.stringify(await call(node, "PUBSUB", "NUMSUB", channel)) ===
          JSON.stringify([channel, 0]);
        expect(await eventually(unsubscribed)).toBe(true);
      }
      expect((await lock.release()).outcome).toBe("released");
    },
    30_000,
  );

  test("a lock released by another driver (the release script over RESP) wakes an Upstash waiter", async () => {
    // Held by a client of another driver: this package has no other driver to take it with, so
    // the key is written as every Redlock client writes it (the lock value, with a TTL).
    const value = "0123456789abcdef0123456789abcdef";
    for (const { node } of databases) await call(node, "SET", "shared", value, "PX", LONG);
    const waiter = redlockOver(databases);

    const pending = waiter.acquire(["shared"], LONG, WAIT);
    await streamsOpen(databases);
    for (const { node } of databases) {
      // One key deleted, none missing, and the announcement reached the waiter's one stream.
      expect(await call(node, "EVAL", RELEASE_SCRIPT, 1, "shared", value)).toEqual([1, 0, 1]);
    }
    const lock = await pending;
    expect(lock.attempts).toHaveLength(2);
    // Granted at quorum: wait for every database's vote before reading them all.
    await Promise.all(lock.attempts);
    for (const { node } of databases) expect(await call(node, "GET", "shared")).toBe(lock.value);
    await lock.release();
  }, 30_000);

  test("waiters for one key in one process share one stream per database and are served in turn", async () => {
    const holder = redlockOver(databases);
    const waiters = redlockOver(databases);
    const held = await holder.acquire(["job"], LONG);

    // Three waiters for "job" (their first attempts go out together) and one for "other".
    const pending = [1, 2, 3].map(() => waiters.acquire(["job"], LONG, WAIT));
    const otherHeld = await holder.acquire(["other"], LONG);
    const other = waiters.acquire(["other"], LONG, WAIT);
    await streamsOpen(databases, 2);
    for (const { bridge } of databases) {
      expect(bridge.streamChannels.sort()).toEqual([
        releaseChannel("job"),
        releaseChannel("other"),
      ]);
    }

    // Each waiter releases as soon as it has the lock, which wakes the next one: every one gets
    // it on its second attempt.
    const order: number[] = [];
    const served = pending.map((promise, index) =>
      promise.then(async (lock) => {
        order.push(index);
        expect(lock.attempts).toHaveLength(2);
        expect((await lock.release()).outcome).toBe("released");
      }),
    );
    await held.release();
    await Promise.all(served);
    expect(order.sort()).toEqual([0, 1, 2]);

    // "other" still has its waiter: one stream per database is left, for its key only.
    for (const { bridge } of databases) {
      expect(await eventually(async () => bridge.streams === 1)).toBe(true);
      expect(bridge.streamChannels).toEqual([releaseChannel("other")]);
    }
    await otherHeld.release();
    const otherLock = await other;
    expect(otherLock.attempts).toHaveLength(2);
    await otherLock.release();
    for (const { bridge } of databases) {
      expect(streamRequests(bridge).map(({ body }) => body)).toEqual(
        expect.arrayContaining([
          ["subscribe", releaseChannel("job")],
          ["subscribe", releaseChannel("other")],
        ]),
      );
      expect(streamRequests(bridge)).toHaveLength(2);
    }
  }, 30_000);
});

describe("@upstash/redis 1.39: the runner's onRelease", () => {
  const db = () => databases[0]!;

  test("resolves once the server confirmed; listeners share the channel's stream, the last one ends it", async () => {
    const runner = runnerFor(db());
    const channel = releaseChannel("k");
    const first = heard();
    const second = heard();
    const offFirst = await runner.onRelease("k", first.listener);
    // The bridge opens the stream before it confirms the subscription.
    expect(db().bridge.streams).toBe(1);
    const offSecond = await runner.onRelease("k", second.listener);
    expect(streamRequests(db().bridge)).toHaveLength(1);

    expect(await call(db().node, "PUBLISH", channel, "")).toBe(1);
    await Promise.all([first.called, second.called]);

    await offFirst();
    expect(db().bridge.streams).toBe(1);
    await offSecond();
    expect(await eventually(async () => db().bridge.streams === 0)).toBe(true);
    const gone = async () =>
      JSON.stringify(await call(db().node, "PUBSUB", "NUMSUB", channel)) ===
      JSON.stringify([channel, 0]);
    expect(await eventually(gone)).toBe(true);
    expect(first.calls()).toBe(1);
    expect(second.calls()).toBe(1);
  });

  test("a key with /, ?, #, % and non-ASCII characters is subscribed under its own channel", async () => {
    const key = "jobs/42?x=1#frag %41 é";
    const runner = runnerFor(db());
    const release = heard();
    const off = await runner.onRelease(key, release.listener);
    expect(db().bridge.streamChannels).toEqual([releaseChannel(key)]);
    expect(await call(db().node, "PUBLISH", releaseChannel(key), "")).toBe(1);
    await release.called;
    await off();
  });

  test("a key with a line break is not listened for: NodeError, and no request", async () => {
    const runner = runnerFor(db());
    const error = await rejection(runner.onRelease("a\nb", () => {}));
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).toMatch(/line break/);
    expect(db().bridge.requests).toEqual([]);
  });

  test("a stream the bridge answers with 5xx or 401 rejects with NodeError without the token; the next listener subscribes again", async () => {
    const name = `upstash:${db().bridge.url}`;
    db().bridge.status5xx(503, 1);
    const runner = runnerFor(db());
    const failed = await rejection(runner.onRelease("k", () => {}));
    expect(failed).toBeInstanceOf(NodeError);
    expect(failed.message).toBe(`[${name}] Injected failure`);
    expect(failed.cause).toMatchObject({ name: "UpstashError" });
    expect(streamRequests(db().bridge).map(({ status }) => status)).toEqual([503]);

    const off = await runner.onRelease("k", () => {});
    expect(db().bridge.streams).toBe(1);
    await off();

    const wrong = createUpstashRunner(clientFor(upstash139, db(), { token: "not-the-token" }));
    const unauthorized = await rejection(wrong.onRelease!("k", () => {}));
    expect(unauthorized.message).toBe(`[${name}] Unauthorized`);
    const texts = textsOf(unauthorized).join("\n");
    expect(texts).not.toContain(db().bridge.token);
    expect(texts).not.toContain("not-the-token");
  });

  test("a confirmation slower than the runner's timeout rejects with NodeTimeoutError; the stream is never opened", async () => {
    db().bridge.delay(1500, 1);
    const runner = runnerFor(db(), { timeout: 200 });
    const error = await rejection(runner.onRelease("k", () => {}));
    expect(error).toBeInstanceOf(NodeTimeoutError);
    expect(error.message).toBe(`[upstash:${db().bridge.url}] no reply within 200 ms`);
    // The runner aborted the request: after its delay the bridge finds the client gone.
    const [request] = db().bridge.requests;
    expect(await eventually(async () => request?.outcome === "client-gone", 10_000)).toBe(true);
    expect(db().bridge.streams).toBe(0);
  });

  test("quit() aborts every stream and gives up on unconfirmed ones; later listeners subscribe again", async () => {
    const runner = runnerFor(db());
    const offA = await runner.onRelease("a", () => {});
    await runner.onRelease("b", () => {});
    expect(db().bridge.streams).toBe(2);

    db().bridge.delay(1000, 1);
    const unconfirmed = runner.onRelease("c", () => {});
    expect(await eventually(async () => db().bridge.requests.length === 3)).toBe(true);
    await runner.quit?.();
    const error = await rejection(unconfirmed);
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).toMatch(/closed before the subscription was confirmed/);
    expect(await eventually(async () => db().bridge.streams === 0)).toBe(true);
    // Unsubscribing after quit() is harmless.
    await expect(offA()).resolves.toBeUndefined();

    const again = heard();
    const off = await runner.onRelease("a", again.listener);
    expect(db().bridge.streamChannels).toEqual([releaseChannel("a")]);
    await call(db().node, "PUBLISH", releaseChannel("a"), "");
    await again.called;
    await off();
  });

  test("Redlock passes its clients' onRelease through, and redlock.quit() closes the streams", async () => {
    const redlock = new Redlock([clientFor(upstash139, db())]);
    const [runner] = [...redlock.runners];
    expect(typeof runner?.onRelease).toBe("function");
    await runner?.onRelease?.("k", () => {});
    expect(db().bridge.streams).toBe(1);
    await redlock.quit();
    expect(await eventually(async () => db().bridge.streams === 0)).toBe(true);
  });

  test.each([
    ["quit()", "quit"],
    ["its last listener's unsubscribe", "off"],
  ])(
    "after %s nothing keeps a Node process alive",
    async (_label, mode) => {
      if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build @redlock/upstash first.`);
      const { bridge } = db();
      const script = `
      const { createUpstashRunner } = require(${JSON.stringify(DIST)});
      const { Redis } = require("@upstash/redis");
      const runner = createUpstashRunner(new Redis({ url: process.env.URL, token: process.env.TOKEN }));
      runner.onRelease("exit", () => {}).then(
        async (off) => {
          process.stdout.write("listening\\n");
          if (process.env.MODE === "quit") await runner.quit();
          else await off();
        },
        (error) => {
          process.stdout.write("not listening: " + error.message + "\\n");
          process.exitCode = 1;
        },
      );
    `;
      const child = spawn(process.execPath, ["-e", script], {
        cwd: PACKAGE_DIR,
        env: { ...process.env, URL: bridge.url, TOKEN: bridge.token, MODE: mode },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      // Only bounds a failure: a child that does not exit on its own is killed.
      const bound = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const [code, signal] = (await once(child, "close")) as [number | null, string | null];
      clearTimeout(bound);
      expect({ output, code, signal }).toEqual({ output: "listening\n", code: 0, signal: null });
      expect(streamRequests(bridge).map(({ status }) => status)).toEqual([200]);
    },
    30_000,
  );
});

describe("clients without subscribe(), and runners told not to listen", () => {
  test("@upstash/redis 1.34 has no subscribe(): no onRelease, waiters retry on their schedule", async () => {
    const client: UpstashClient = clientFor(upstash134, databases[0]!);
    expect((client as { subscribe?: unknown }).subscribe).toBeUndefined();
    expect(createUpstashRunner(client).onRelease).toBeUndefined();

    const holder = redlockOver(databases);
    const waiter = new Redlock(
      databases.map((db) => clientFor(upstash134, db)),
      { retryCount: 100, retryDelay: 50, retryJitter: 0 },
    );
    closers.push(() => waiter.quit());
    const held = await holder.acquire(["job"], LONG);
    const before = databases.map(({ bridge }) => bridge.requests.length);
    const pending = waiter.acquire(["job"], LONG, WAIT);
    // The waiter's first attempt reached every database before the lock is released.
    const tried = async () =>
      databases.every(({ bridge }, i) => bridge.requests.length > before[i]!);
    expect(await eventually(tried)).toBe(true);
    await held.release();
    const lock = await pending;
    expect(lock.attempts.length).toBeGreaterThanOrEqual(2);
    for (const { bridge } of databases) expect(streamRequests(bridge)).toEqual([]);
    await lock.release();
  }, 30_000);

  test("subscribe: false leaves a 1.39 runner without onRelease; other values are refused", () => {
    const client = clientFor(upstash139, databases[0]!);
    expect(typeof createUpstashRunner(client).onRelease).toBe("function");
    expect(createUpstashRunner(client, { subscribe: false }).onRelease).toBeUndefined();
    expect(() => createUpstashRunner(client, { subscribe: "no" as never })).toThrow(
      expect.objectContaining({ reason: "INVALID_SETTING", argument: "options.subscribe" }),
    );
    expect(() => createUpstashRunner(client, { subscribe: 0 as never })).toThrow(
      InvalidArgumentError,
    );
  });
});
