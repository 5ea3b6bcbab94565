import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { Redlock, ResourceLockedError } from "@redlock/core";
import { respCall, teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, runnersFor, startBed } from "./drivers";

// A Bun process locks through @redlock/bun (Bun's built-in RedisClient); this Node process uses
// node-redis and ioredis on the same servers. Each waits for the other's output, never for time.

/** The Bun binary this package depends on. */
const BUN = join(__dirname, "..", "node_modules", ".bin", "bun");

/**
 * The Bun side: acquire `RESOURCES` with retryCount 0 and print `{ held }` or `{ error }`; when
 * holding, release on the stdin line "release" and print `{ released }`.
 */
const CHILD = `
import { RedisClient } from "bun";
import { createBunRunner, Redlock } from "@redlock/bun";
const urls = JSON.parse(process.env.LOCK_URLS);
const redlock = new Redlock(
  urls.map((url) => createBunRunner(new RedisClient(url), { url })),
  { retryCount: 0 },
);
const say = (message) => console.log(JSON.stringify(message));
try {
  const lock = await redlock.acquire(JSON.parse(process.env.LOCK_RESOURCES), 30000);
  say({ held: lock.resources });
  for await (const line of console) if (line.trim() === "release") break;
  say({ released: (await lock.release()).outcome });
  await redlock.idle(); // decided at quorum: let every node answer before quit()
} catch (error) {
  say({ error: error.code });
}
await redlock.quit();
`;

/** A running Bun child and its output, one JSON message per line. */
interface BunChild {
  readonly process: ChildProcess;
  /** The next message the child prints; rejects when it exits first. */
  next(): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

/** Start the Bun side on the bed's servers for `resources`. */
function startBunChild(resources: string[]): BunChild {
  let stderr = "";
  const child = spawn(BUN, ["-e", CHILD], {
    cwd: join(__dirname, ".."),
    env: {
      ...process.env,
      LOCK_URLS: JSON.stringify(bed.nodes.map((node) => node.url)),
      LOCK_RESOURCES: JSON.stringify(resources),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const lines: Interface = createInterface({ input: child.stdout! });
  const iterator = lines[Symbol.asyncIterator]();
  return {
    process: child,
    exited,
    async next() {
      const { value, done } = await iterator.next();
      if (done) throw new Error(`the Bun process exited (${await exited}) first: ${stderr}`);
      return JSON.parse(value as string) as Record<string, unknown>;
    },
  };
}

/** Resolves once some client on `node` 0 subscribed to the release channel of `key`. */
async function waiterListening(key: string): Promise<void> {
  for (;;) {
    const [, count] = (await respCall(
      bed.nodes[0]!,
      "PUBSUB",
      "NUMSUB",
      `redlock:released:${key}`,
    )) as [string, number];
    if (count > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let bed: Bed;
let nodeRedis: Redlock;
let ioredis: Redlock;

beforeAll(async () => {
  bed = await startBed(3);
  nodeRedis = new Redlock(await runnersFor(bed, "node-redis"), { retryCount: 0 });
  ioredis = new Redlock(await runnersFor(bed, "ioredis"), { retryCount: 0 });
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await closeBed(bed);
  await teardownAll();
});

test("a lock held by a Bun process excludes node-redis and ioredis until it releases", async () => {
  const resources = ["bun-held:a", "bun-held:b"];
  const child = startBunChild(resources);
  expect(await child.next()).toEqual({ held: resources });

  for (const contender of [nodeRedis, ioredis]) {
    await expect(contender.acquire(resources, 10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await expect(contender.acquire([resources[1]!], 10_000)).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
  }

  // A waiter whose next retry is 20 s away: only the release announcement can wake it.
  const waiting = nodeRedis.acquire(resources, 10_000, { retryCount: 1, retryDelay: 20_000 });
  await waiterListening(resources[0]!);
  const releasedAt = Date.now();
  child.process.stdin!.write("release\n");
  expect(await child.next()).toEqual({ released: "released" });
  const lock = await waiting;
  expect(Date.now() - releasedAt).toBeLessThan(10_000); // woken, not retried
  expect((await lock.release()).outcome).toBe("released");
  await nodeRedis.idle(); // decided at quorum: wait for every node before the next try
  expect(await child.exited).toBe(0);

  const after = await ioredis.acquire(resources, 10_000);
  expect((await after.release()).outcome).toBe("released");
}, 30_000);

test("a lock held by node-redis excludes the Bun process", async () => {
  const resources = ["node-held:a"];
  const lock = await nodeRedis.acquire(resources, 10_000);
  const child = startBunChild(resources);
  expect(await child.next()).toEqual({ error: "RESOURCE_LOCKED" });
  expect(await child.exited).toBe(0);
  expect((await lock.release()).outcome).toBe("released");
}, 30_000);
