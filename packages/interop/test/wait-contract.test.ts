import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { ACQUIRE_SCRIPT } from "@redlock/core/adapter";
import { Redlock, ResourceLockedError } from "@redlock/ioredis";
import { respCall, teardownAll } from "@redlock/testbed";
import IORedis from "ioredis";
import { type Bed, closeBed, startBed } from "./drivers";

// node-redlock v5's wait contract on real redis-servers: a held resource costs exactly
// `retryCount + 1` tries, `retryDelay ± retryJitter` apart, then a typed rejection. Release
// announcements only bring tries forward; a try they trigger that loses the race is free.

// biome-ignore lint/suspicious/noExplicitAny: the beta ships no types that resolve under this config
const V5Redlock: any = require("redlock").default;

let bed: Bed;
const clients: IORedis[] = [];
const instances: Redlock[] = [];

function connect(): IORedis[] {
  const made = bed.nodes.map(
    (node) => new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 }),
  );
  clients.push(...made);
  return made;
}

function redlock(settings: ConstructorParameters<typeof Redlock>[1] = {}): Redlock {
  const instance = new Redlock(connect(), settings);
  instances.push(instance);
  return instance;
}

/** Script calls (EVALSHA + EVAL) each node has served so far. */
async function scriptCalls(): Promise<number[]> {
  return Promise.all(
    bed.nodes.map(async (node) => {
      const info = String(await respCall(node, "INFO", "commandstats"));
      let calls = 0;
      for (const match of info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)) {
        calls += Number(match[1]);
      }
      return calls;
    }),
  );
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rejection, elapsed ms and attempt count of an acquire expected to fail. */
async function failedAcquire(promise: Promise<unknown>) {
  const started = performance.now();
  const error = await promise.then(
    () => {
      throw new Error("expected the acquisition to fail");
    },
    (caught: unknown) => caught as ResourceLockedError,
  );
  const elapsed = performance.now() - started;
  // Each try is decided at quorum: let every node answer every try before anything is counted.
  await Promise.all(error.attempts);
  return { error, elapsed, attempts: error.attempts.length };
}

beforeAll(async () => {
  bed = await startBed(3);
});
// Releases are decided at quorum: every node serves them before the next test counts calls.
afterEach(() => Promise.all(instances.map((instance) => instance.idle())));
afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.quit().catch(() => {})));
  for (const client of clients) client.disconnect();
  await closeBed(bed);
  await teardownAll();
});

describe("a resource held throughout", () => {
  test("defaults: 11 tries over about 2 s, then ResourceLockedError", async () => {
    const holder = await redlock().acquire(["held:defaults"], 60_000);
    const { error, elapsed, attempts } = await failedAcquire(
      redlock().acquire(["held:defaults"], 5000),
    );
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(attempts).toBe(11);
    // 10 delays of 200 ± 100 ms: never sooner than 1 s, and nowhere near the holder's 60 s TTL.
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(10_000);
    await holder.release();
  }, 30_000);

  test("fast settings: 3 tries, well under a second", async () => {
    const holder = await redlock().acquire(["held:fast"], 60_000);
    const settings = { retryCount: 2, retryDelay: 40, retryJitter: 10 };
    const { error, elapsed, attempts } = await failedAcquire(
      redlock().acquire(["held:fast"], 5000, settings),
    );
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(attempts).toBe(3);
    expect(elapsed).toBeGreaterThanOrEqual(60);
    expect(elapsed).toBeLessThan(2000);
    await holder.release();
  }, 30_000);

  test("a lock held by node-redlock v5 itself: 11 tries with defaults", async () => {
    const v5 = new V5Redlock(connect(), { retryCount: 0 });
    v5.on("error", () => {});
    const holder = await v5.acquire(["held:v5"], 60_000);
    const { error, attempts } = await failedAcquire(redlock().acquire(["held:v5"], 5000));
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(attempts).toBe(11);
    await holder.release();
  }, 30_000);

  test("a lock held by another process: the schedule, not the holder's TTL, bounds the wait", async () => {
    const urls = JSON.stringify(bed.nodes.map((node) => node.url));
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Redis } from "ioredis";
         import { Redlock } from "@redlock/ioredis";
         const redlock = new Redlock(${urls}.map((url) => new Redis(url)));
         await redlock.acquire(["held:process"], 60000);
         console.log("held");`,
      ],
      { cwd: `${__dirname}/..`, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      expect(line.toString().trim()).toBe("held");
      const settings = { retryCount: 4, retryDelay: 50, retryJitter: 0 };
      const { error, elapsed, attempts } = await failedAcquire(
        redlock().acquire(["held:process"], 5000, settings),
      );
      expect(error).toBeInstanceOf(ResourceLockedError);
      expect(attempts).toBe(5);
      expect(elapsed).toBeGreaterThanOrEqual(200);
      expect(elapsed).toBeLessThan(5000);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);

  test("a holder with a 30-day TTL (raw SET … PX) costs at most retryCount + 1 tries per node", async () => {
    const thirtyDays = 30 * 24 * 3600 * 1000;
    await Promise.all(
      bed.nodes.map((node) => respCall(node, "SET", "held:forever", "x", "PX", thirtyDays)),
    );
    // Cached on every node, so each try is one call (a cold node answers NOSCRIPT, then EVAL).
    await Promise.all(bed.nodes.map((node) => respCall(node, "SCRIPT", "LOAD", ACQUIRE_SCRIPT)));
    const before = await scriptCalls();
    const settings = { retryCount: 3, retryDelay: 100, retryJitter: 0 };
    const { error, attempts } = await failedAcquire(
      redlock().acquire(["held:forever"], 5000, settings),
    );
    const after = await scriptCalls();
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(attempts).toBe(4);
    expect(after.map((calls, i) => calls - before[i]!).every((calls) => calls <= 4)).toBe(true);
  }, 30_000);
});

test("a free key is tried at once while another waiter here queues on it with a held key", async () => {
  const elsewhere = await redlock().acquire(["report"], 60_000);
  const local = redlock({ retryDelay: 5000, retryJitter: 0 });
  const both = local.acquire(["account:1", "report"], 6000, { retryCount: 1 });
  both.catch(() => {});
  // The first waiter listens for releases of its keys once its first try failed.
  await eventually(async () => {
    const [, count] = (await respCall(
      bed.nodes[0]!,
      "PUBSUB",
      "NUMSUB",
      "redlock:released:report",
    )) as [string, number];
    return count > 0;
  });
  const single = await local.acquire(["account:1"], 6000);
  expect(single.attempts).toHaveLength(1);
  await single.release();
  await elsewhere.release();
  await (await both).release();
}, 30_000);

test("announcements whose race is lost use up no retry", async () => {
  const key = "raced";
  const rival = "held by a rival";
  await Promise.all(bed.nodes.map((node) => respCall(node, "SET", key, rival, "PX", 60_000)));
  // retryCount 1 with a long delay: the waiter survives only if lost races are free.
  const waiting = redlock().acquire([key], 5000, { retryCount: 1, retryDelay: 20_000 });
  await eventually(async () => {
    const [, count] = (await respCall(
      bed.nodes[0]!,
      "PUBSUB",
      "NUMSUB",
      `redlock:released:${key}`,
    )) as [string, number];
    return count > 0;
  });
  // Announce a release while the key is taken again in the same script: each announced try loses.
  const announceLost = `redis.call("SET", KEYS[1], ARGV[1], "PX", 60000)
    redis.call("PUBLISH", "redlock:released:" .. KEYS[1], "")
    return 1`;
  for (let round = 0; round < 4; round++) {
    const before = await scriptCalls();
    await Promise.all(bed.nodes.map((node) => respCall(node, "EVAL", announceLost, 1, key, rival)));
    // Wait for the waiter's try on every node (the EVAL above is one call per node), so the
    // next announcement cannot be taken for this one's.
    await eventually(async () => {
      const after = await scriptCalls();
      return after.every((calls, i) => calls - before[i]! >= 2);
    });
  }
  // The real release: the waiter takes the lock, long before its one scheduled retry.
  const release = `redis.call("DEL", KEYS[1])
    redis.call("PUBLISH", "redlock:released:" .. KEYS[1], "")
    return 1`;
  await Promise.all(bed.nodes.map((node) => respCall(node, "EVAL", release, 1, key)));
  const lock = await waiting;
  expect(lock.attempts.length).toBeGreaterThanOrEqual(6);
  await lock.release();
}, 30_000);
