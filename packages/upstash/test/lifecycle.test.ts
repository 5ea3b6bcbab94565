import { Redlock as CoreRedlock } from "@redlock/core";
import { sha1 } from "@redlock/core/adapter";
import { teardownAll } from "@redlock/testbed";
import { createUpstashRunner, InvalidArgumentError, Redlock, ResourceLockedError } from "../src";
import {
  allVotes,
  call,
  clientFor,
  commandsSeen,
  type Database,
  drivers,
  resetDatabases,
  startDatabases,
} from "./helpers";

let databases: Database[];

beforeAll(async () => {
  databases = await startDatabases(3);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterAll(() => teardownAll());

const fast = { retryCount: 0 } as const;

describe.each(drivers)("%s", (_label, make) => {
  const redlockOn = (count: number) =>
    new Redlock(
      databases.slice(0, count).map((db) => clientFor(make, db)),
      fast,
    );

  test("Redlock takes runners in place of clients, mixed with clients", async () => {
    const [a, b, c] = databases.map((db) => clientFor(make, db));
    const named = createUpstashRunner(a!, { name: "db-a", timeout: 2000, subscribe: false });
    const redlock = new Redlock([named, b!, c!], fast);
    const lock = await allVotes(await redlock.acquire(["mixed"], 5000));
    const stats = await lock.attempts[0];
    expect([...(stats?.votesFor ?? [])].map((runner) => runner.name)).toContain("db-a");
    expect(await call(databases[0]!.node, "GET", "mixed")).toBe(lock.value);
    expect((await lock.release()).outcome).toBe("released");
  });

  test.each([1, 3])("acquire, extend and release on %i node(s)", async (count) => {
    const redlock = redlockOn(count);
    const used = databases.slice(0, count);

    // Each step resolves at quorum; wait for every node's vote before looking at all nodes.
    const lock = await allVotes(await redlock.acquire(["a", "b"], 5000));
    for (const { node } of used) {
      expect(await call(node, "GET", "a")).toBe(lock.value);
      expect(await call(node, "GET", "b")).toBe(lock.value);
    }
    await expect(redlock.acquire("b", 5000)).rejects.toBeInstanceOf(ResourceLockedError);

    const extended = await allVotes(await lock.extend(20_000));
    for (const { node } of used) {
      expect(Number(await call(node, "PTTL", "a"))).toBeGreaterThan(10_000);
    }

    const result = await allVotes(await extended.release());
    expect(result.outcome).toBe("released");
    for (const { node } of used) expect(await call(node, "EXISTS", "a", "b")).toBe(0);
    expect((await extended.release()).outcome).toBe("already-released");

    const again = await redlock.acquire("b", 1000);
    await again.release();
  });

  test("using() extends the lock while the routine runs, then releases it", async () => {
    const redlock = redlockOn(3);
    const value = await redlock.using(
      ["job"],
      600,
      { automaticExtensionThreshold: 400 },
      async (signal, { lock }) => {
        await new Promise((resolve) => setTimeout(resolve, 900));
        expect(signal.aborted).toBe(false);
        return lock.value;
      },
    );
    expect(value).toMatch(/^[0-9a-f]{32}$/);
    await redlock.idle(); // released at quorum: wait for every node
    for (const { node } of databases) expect(await call(node, "EXISTS", "job")).toBe(0);
  });

  test("falls back to EVAL after SCRIPT FLUSH, which caches the script again", async () => {
    const [db] = databases as [Database];
    const redlock = redlockOn(1);
    const { acquireScript } = redlock.scripts;
    expect(await call(db.node, "SCRIPT", "EXISTS", acquireScript.sha1)).toEqual([0]);

    const lock = await redlock.acquire("x", 5000);
    expect(commandsSeen(db.bridge)).toEqual([["evalsha"], ["eval"]]);
    expect(await call(db.node, "SCRIPT", "EXISTS", acquireScript.sha1)).toEqual([1]);

    db.bridge.requests.length = 0;
    await lock.release();
    await call(db.node, "SCRIPT", "FLUSH");
    await redlock.acquire("x", 5000);
    expect(commandsSeen(db.bridge)).toEqual([["evalsha"], ["eval"], ["evalsha"], ["eval"]]);
  });

  test("resolves replies as the client decodes them: integers as numbers, arrays as arrays", async () => {
    const runner = createUpstashRunner(clientFor(make, databases[0]!));
    const script = (source: string) => ({ name: "acquire" as const, source, sha1: sha1(source) });
    expect(await runner.run(script("return 7"), [], [])).toBe(7);
    expect(await runner.run(script("return {2, 0}"), [], [])).toEqual([2, 0]);
    expect(await runner.run(script("return ARGV[1] .. KEYS[1]"), ["k"], [12])).toBe("12k");
  });

  test("names the runner after the URL's origin and path and accepts a name and a timeout", () => {
    const db = databases[0]!;
    const client = clientFor(make, db);
    expect(createUpstashRunner(client).name).toBe(`upstash:${db.bridge.url}`);
    expect(createUpstashRunner(client, { name: "eu-1", timeout: 10 }).name).toBe("eu-1");
    const withPath = make({ url: `http://user:pw@127.0.0.1:${db.bridge.port}/x/`, token: "t" });
    expect(createUpstashRunner(withPath).name).toBe(`upstash:${db.bridge.url}/x`);
  });

  test("redlock.quit() resolves and leaves the REST client usable", async () => {
    const client = clientFor(make, databases[0]!);
    const redlock = new Redlock([client], fast);
    await expect(redlock.quit()).resolves.toBeUndefined();
    await (await redlock.acquire("q", 1000)).release();
  });

  test("runners with their own options work in core's Redlock", async () => {
    const runners = databases.map((db, i) =>
      createUpstashRunner(clientFor(make, db), { name: `db${i}`, timeout: 2000 }),
    );
    const redlock = new CoreRedlock(runners, fast);
    const lock = await redlock.acquire("core", 1000);
    expect((await lock.release()).outcome).toBe("released");
  });
});

describe("validation", () => {
  const client = { evalsha: async () => 1, eval: async () => 1, createScript: () => ({}) };
  // ioredis clients have evalsha() and eval() too, with (sha, numkeys, ...keysAndArgs).
  const ioredisLike = { evalsha: async () => 1, eval: async () => 1, defineCommand: () => {} };

  test.each([
    ["an empty object", [{}], "clients[0]"],
    ["an object without evalsha/eval", [client, { call: () => 1 }], "clients[1]"],
    ["null", [null], "clients[0]"],
    ["an ioredis-like client", [client, client, ioredisLike], "clients[2]"],
  ])("rejects %s in the client list", (_case, clients, argument) => {
    expect(() => new Redlock(clients as never)).toThrow(InvalidArgumentError);
    expect(() => new Redlock(clients as never)).toThrow(
      expect.objectContaining({ reason: "INVALID_RUNNER", argument }),
    );
  });

  test("rejects a missing or empty client list", () => {
    expect(() => new Redlock(undefined as never)).toThrow(
      expect.objectContaining({ reason: "NO_RUNNERS", argument: "clients" }),
    );
    expect(() => new Redlock([])).toThrow(expect.objectContaining({ reason: "NO_RUNNERS" }));
  });

  test("createUpstashRunner checks its client and timeout", () => {
    expect(() => createUpstashRunner({} as never)).toThrow(
      expect.objectContaining({ reason: "INVALID_RUNNER", argument: "client" }),
    );
    for (const timeout of [0, -1, 1.5, Number.NaN, 2 ** 31, "5" as never]) {
      expect(() => createUpstashRunner(client, { timeout })).toThrow(
        expect.objectContaining({ reason: "INVALID_SETTING", argument: "options.timeout" }),
      );
    }
  });

  test("a client without a URL is named 'upstash'", () => {
    expect(createUpstashRunner(client).name).toBe("upstash");
  });

  test("the same client twice is one node", () => {
    expect(new Redlock([client, client]).runners.size).toBe(1);
  });
});
