import { defaultScripts, fenceKey } from "@redlock/core/adapter";
import {
  type RedisCluster,
  type RedisNode,
  respCall,
  sleep,
  startCluster,
  startRedis,
  teardownAll,
} from "@redlock/testbed";
import {
  createIoredisRunner,
  NodeError,
  NodeRestartedError,
  QuorumUnreachableError,
  Redlock,
  type ScriptRunner,
} from "../src";
import { closeClients, drivers } from "./helpers";

let node: RedisNode;
let cluster: RedisCluster;
let counter = 0;

beforeAll(async () => {
  [node, cluster] = await Promise.all([startRedis(), startCluster()]);
});
beforeEach(() => respCall(node, "FLUSHALL"));
afterEach(() => closeClients());
afterAll(() => teardownAll());

const LOCK_VALUE = "0123456789abcdef0123456789abcdef";

/** A runner that counts its calls and forwards them. */
function counting(runner: ScriptRunner): ScriptRunner & { calls: number } {
  const counted = {
    name: runner.name,
    calls: 0,
    run: (...args: Parameters<ScriptRunner["run"]>) => {
      counted.calls++;
      return runner.run(...args);
    },
  };
  return counted;
}

/** Every key on the standalone node, sorted. */
async function keys(): Promise<string[]> {
  return ((await respCall(node, "KEYS", "*")) as string[]).sort();
}

// The marker and the fencing counters live under `<keyPrefix>__redlock__:`; resource names
// cannot reach it, and the scripts never write over a value they did not put there.
describe.each(drivers)("%s", (label, driver) => {
  test("a resource named like the marker or a counter is refused before any I/O", async () => {
    const runner = counting(createIoredisRunner(driver.redis(node.url)));
    const redlock = new Redlock([runner], { restartGuard: { period: 100 } });
    for (const name of ["__redlock__:boot", fenceKey("invoice"), "app:__redlock__:boot"]) {
      await expect(redlock.acquire([name], 1000, { fencing: true })).rejects.toMatchObject({
        name: "InvalidArgumentError",
        reason: "RESERVED_RESOURCE",
      });
    }
    expect(runner.calls).toBe(0);
    expect(await keys()).toEqual([]);
  });

  test.each([
    ["a lock value", LOCK_VALUE],
    ["digits with a TTL", "1700000000000"],
  ])("a guarded instance never overwrites the marker when it holds %s", async (_, value) => {
    await respCall(node, "SET", "__redlock__:boot", value, "PX", 60_000);
    const redlock = new Redlock([driver.redis(node.url)], {
      restartGuard: { period: 100 },
      retryCount: 0,
    });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    const resource = `${label}:guarded:${++counter}`;
    await expect(redlock.acquire([resource], 1000)).rejects.toBeInstanceOf(QuorumUnreachableError);
    expect(errors[0]).toBeInstanceOf(NodeError);
    expect(errors[0]?.message).toContain("REDLOCK_RESERVED_KEY __redlock__:boot");
    expect(await respCall(node, "GET", "__redlock__:boot")).toBe(value);
    expect(Number(await respCall(node, "PTTL", "__redlock__:boot"))).toBeGreaterThan(50_000);
    expect(await respCall(node, "EXISTS", resource)).toBe(0);

    // Once the foreign value is gone, the node plants its own marker and waits out the period.
    await respCall(node, "DEL", "__redlock__:boot");
    errors.length = 0;
    await expect(redlock.acquire([resource], 1000)).rejects.toBeInstanceOf(QuorumUnreachableError);
    expect(errors[0]).toBeInstanceOf(NodeRestartedError);
    expect(await respCall(node, "GET", "__redlock__:boot")).toMatch(/^\d+$/);
    expect(await respCall(node, "PTTL", "__redlock__:boot")).toBe(-1);
  });

  test("fencing never overwrites a lock value at a counter key", async () => {
    const resource = `${label}:fenced:${++counter}`;
    const counter_ = fenceKey(resource);
    await respCall(node, "SET", counter_, LOCK_VALUE, "PX", 60_000);
    const client = driver.redis(node.url);
    const redlock = new Redlock([client], { retryCount: 0 });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    await expect(redlock.acquire([resource], 1000, { fencing: true })).rejects.toBeInstanceOf(
      QuorumUnreachableError,
    );
    expect(errors[0]?.message).toContain(`REDLOCK_RESERVED_KEY ${counter_}`);
    expect(await respCall(node, "EXISTS", resource)).toBe(0);
    // The write-back script refuses too, writing none of its counters.
    const other = fenceKey(`${resource}:other`);
    await expect(
      createIoredisRunner(client).run(defaultScripts.fenceScript, [other, counter_], [7]),
    ).rejects.toThrow(/REDLOCK_RESERVED_KEY/);
    expect(await respCall(node, "EXISTS", other)).toBe(0);
    expect(await respCall(node, "GET", counter_)).toBe(LOCK_VALUE);
    expect(Number(await respCall(node, "PTTL", counter_))).toBeGreaterThan(50_000);
  });

  test("keyPrefix applies to the marker and the counters", async () => {
    const redlock = new Redlock([driver.redis(node.url)], {
      keyPrefix: "app:",
      restartGuard: { period: 100 },
      retryCount: 0,
    });
    await redlock.acquire(["warm-up"], 1000).catch(() => undefined); // plants the marker
    await sleep(150);
    const lock = await redlock.acquire(["r"], 5000, { fencing: true });
    expect(lock.fencingToken).toBe(1);
    expect(await keys()).toEqual(["app:__redlock__:boot", "app:__redlock__:fence:r", "app:r"]);
    expect(await respCall(node, "GET", "app:__redlock__:fence:r")).toBe("1");
    expect(await respCall(node, "PTTL", "app:__redlock__:fence:r")).toBe(-1);
    expect(await respCall(node, "PTTL", "app:__redlock__:boot")).toBe(-1);
    // An instance without the prefix cannot lock those keys either.
    const bare = new Redlock([driver.redis(node.url)], { retryCount: 0 });
    await expect(bare.acquire(["app:__redlock__:boot"], 1000)).rejects.toMatchObject({
      reason: "RESERVED_RESOURCE",
    });
    await lock.release();
  });

  test("on a Redis Cluster client, a {hash tag} keeps the counter in the lock key's slot", async () => {
    const redlock = new Redlock([driver.cluster(cluster.startupNodes)], { keyPrefix: "app:" });
    const name = `{${label.replace(" ", "")}:fence:${++counter}}:invoice`;
    const slot = (key: string) => respCall(cluster.nodes[0]!, "CLUSTER", "KEYSLOT", key);
    expect(await slot(fenceKey(name, "app:"))).toBe(await slot(`app:${name}`));
    const first = await redlock.acquire([name, `${name}:lines`], 1000, { fencing: true });
    await first.release();
    const second = await redlock.acquire([name], 1000, { fencing: true });
    expect([first.fencingToken, second.fencingToken]).toEqual([1, 2]);
    const owner = cluster.nodeForSlot(Number(await slot(`app:${name}`)));
    expect(await respCall(owner, "GET", fenceKey(name, "app:"))).toBe("2");
    await second.release();
  });
});
