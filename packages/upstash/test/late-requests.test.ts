import { defaultScripts } from "@redlock/core/adapter";
import { teardownAll } from "@redlock/testbed";
import {
  createUpstashRunner,
  NodeTimeoutError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
  type ScriptRunner,
  type UpstashClient,
} from "../src";
import { IN_FLIGHT } from "../src/ordered";
import {
  allVotes,
  type ClientFactory,
  call,
  clientFor,
  commandsSeen,
  type Database,
  drivers,
  eventually,
  rejection,
  resetDatabases,
  startDatabases,
} from "./helpers";

/**
 * Over HTTP an acquire that core gave up on can still run on the server later, after the
 * release core sent for it. The runner sends a call only once the earlier requests with the same
 * lock value have settled, so the release lands last and nothing stays held.
 */

let databases: Database[];
const made: { quit?(): Promise<unknown> }[] = [];

beforeAll(async () => {
  databases = await startDatabases(3);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterEach(async () => {
  // Every request of the test has settled before the next one resets the bridges.
  await Promise.all(made.splice(0).map((runner) => runner.quit?.()));
});
afterAll(() => teardownAll());

const TTL = 30_000;
/** Core's default. */
const nodeTimeout = 1000;
/** How long a delayed request waits at the bridge: ~1.5 s past core's `nodeTimeout`. */
const LATE = nodeTimeout + 1500;

function redlockOf(clients: UpstashClient[], options: RedlockOptions = {}): Redlock {
  const redlock = new Redlock(clients, { retryCount: 0, nodeTimeout, ...options });
  made.push(redlock);
  return redlock;
}

const inFlight = (runner: ScriptRunner) => IN_FLIGHT.get(runner)?.size;

describe.each(drivers)("%s", (_label, make: ClientFactory) => {
  const clients = () => databases.map((db) => clientFor(make, db));

  test("a late acquire, landing after core gave up on it, is released once it lands: the key is not left held and a second acquirer gets the lock", async () => {
    const redlock = redlockOf(clients());
    const { acquireScript } = redlock.scripts;
    // Cached, so the late EVALSHA writes the key (an EVAL fallback is not sent once core gave up).
    for (const { node } of databases) await call(node, "SCRIPT", "LOAD", acquireScript.source);
    const slow = databases.slice(1);
    for (const { bridge } of slow) bridge.delay(LATE, 1);

    // At most one grant of three: the attempt fails, and core releases it on every node at once.
    const error = await rejection(redlock.acquire("a", TTL));
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    const causes = (error.cause as AggregateError).errors;
    expect(causes.length).toBeGreaterThanOrEqual(2);
    for (const cause of causes) expect(cause).toBeInstanceOf(NodeTimeoutError);

    // The delayed acquires run on the slow nodes and are answered.
    const answered = async () => slow.every(({ bridge }) => bridge.requests[0]?.status === 200);
    expect(await eventually(answered, 10_000)).toBe(true);
    for (const { bridge } of slow) expect(commandsSeen(bridge)[0]).toEqual(["evalsha"]);

    // Without ordering, their release ran first and the key would stay until its TTL (30 s).
    const held = async () => {
      const pttls = await Promise.all(databases.map(({ node }) => call(node, "PTTL", "a")));
      return pttls.flatMap((pttl, i) => (pttl === -2 ? [] : [`node ${i}: PTTL ${pttl}`]));
    };
    await eventually(async () => (await held()).length === 0, 5000);
    expect(await held()).toEqual([]);

    // Well within the TTL the failed attempt would have held the key for.
    const second = redlockOf(clients(), { retryCount: -1, retryDelay: 100 });
    const lock = await second.acquire("a", TTL, { acquireTimeout: 10_000 });
    expect((await lock.release()).outcome).toBe("released");
  }, 30_000);

  test("a call waits for the requests in flight with its lock value: an aborted extend is never sent, an aborted release is (with its EVAL fallback)", async () => {
    const db = databases[0]!;
    const runner = createUpstashRunner(clientFor(make, db));
    made.push(runner);
    const { acquireScript, extendScript, releaseScript } = defaultScripts;
    await call(db.node, "SCRIPT", "LOAD", acquireScript.source);
    db.bridge.delay(LATE, 1);

    const controller = new AbortController();
    const { signal } = controller;
    const acquire = runner.run(acquireScript, ["k"], ["v", TTL], { signal });
    expect(await eventually(async () => db.bridge.requests.length === 1, 10_000)).toBe(true);
    const extend = runner.run(extendScript, ["k"], ["v", TTL], { signal });
    const release = runner.run(releaseScript, ["k"], ["v"], { signal });
    // Another value does not wait.
    const other = runner.run(acquireScript, ["k2"], ["w", TTL], { signal });
    expect(inFlight(runner)).toBe(2);
    await expect(other).resolves.toBe(1);
    const reason = new NodeTimeoutError(runner.name!, nodeTimeout);
    controller.abort(reason);
    for (const call of [acquire, extend, release]) expect(await rejection(call)).toBe(reason);

    // The late acquire, then its release (NOSCRIPT, then EVAL); the extend was dropped.
    expect(await eventually(async () => inFlight(runner) === 0, 10_000)).toBe(true);
    const sent = db.bridge.requests.map(({ body }) => {
      const pipelined = Array.isArray(body) && Array.isArray(body[0]);
      const [command, script, , key, value] = (pipelined ? body[0] : body) as unknown[];
      const code = command === "eval" ? String(script).slice(0, 24) : script;
      return `${String(command)} ${code} ${String(key)} ${String(value)}`;
    });
    expect(sent).toEqual([
      `evalsha ${acquireScript.sha1} k v`,
      `evalsha ${acquireScript.sha1} k2 w`,
      `evalsha ${releaseScript.sha1} k v`,
      `eval ${releaseScript.source.slice(0, 24)} k v`,
    ]);
    expect(await call(db.node, "EXISTS", "k")).toBe(0);
    expect(await call(db.node, "EXISTS", "k2")).toBe(1);
  }, 30_000);

  test("quit() resolves once the late acquire and the release waiting for it have settled; nothing is left tracked", async () => {
    const redlock = redlockOf(clients());
    for (const { node } of databases) {
      await call(node, "SCRIPT", "LOAD", redlock.scripts.acquireScript.source);
    }
    const slow = databases.slice(1);
    const runners = [...redlock.runners];

    // Traffic before and after the late attempt: a lock taken, extended and released.
    const before = await allVotes(await redlock.acquire("b", TTL));
    for (const { bridge } of slow) bridge.delay(LATE, 1);
    const failed = rejection(redlock.acquire("a", TTL));
    expect(await failed).toBeInstanceOf(QuorumUnreachableError);
    // The late acquire and the release waiting for it share one entry.
    expect(runners.slice(1).map(inFlight)).toEqual([1, 1]);
    await (await before.extend(TTL)).release();
    await redlock.idle();

    await redlock.quit();
    for (const { bridge } of slow) {
      expect(bridge.requests.every(({ status }) => status !== undefined)).toBe(true);
    }
    for (const { node } of databases) expect(await call(node, "EXISTS", "a", "b")).toBe(0);
    expect(runners.map(inFlight)).toEqual([0, 0, 0]);
  }, 30_000);
});
