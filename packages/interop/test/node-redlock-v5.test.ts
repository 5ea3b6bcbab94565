import { Redlock } from "@redlock/ioredis";
import { teardownAll } from "@redlock/testbed";
import type { Redis as V5Client } from "ioredis";
import IORedis from "ioredis";
import { type Bed, closeBed, startBed } from "./drivers";

// The published node-redlock v5 (CommonJS build) and this library share keys, so they exclude
// each other on the same servers.
// biome-ignore lint/suspicious/noExplicitAny: the beta ships no types that resolve under this config
const V5Redlock: any = require("redlock").default;

let bed: Bed;
let clients: IORedis[];
let ours: Redlock;
// biome-ignore lint/suspicious/noExplicitAny: see above
let theirs: any;

beforeAll(async () => {
  bed = await startBed(3);
  clients = bed.nodes.map(
    (node) => new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 }),
  );
  ours = new Redlock(clients, { retryCount: 0 });
  theirs = new V5Redlock(clients as V5Client[], { retryCount: 0 });
  theirs.on("error", () => {});
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await closeBed(bed);
  await teardownAll();
});

test("a lock held by node-redlock v5 blocks ours", async () => {
  const held = await theirs.acquire(["v5:a", "v5:b"], 10_000);
  await expect(ours.acquire(["v5:b"], 10_000)).rejects.toMatchObject({ code: "RESOURCE_LOCKED" });
  await held.release();
  const lock = await ours.acquire(["v5:a", "v5:b"], 10_000);
  expect((await lock.release()).outcome).toBe("released");
});

test("a lock held by us blocks node-redlock v5, and v5 cannot release it", async () => {
  const lock = await ours.acquire(["ours:a", "ours:b"], 10_000);
  await Promise.all(lock.attempts);
  await expect(theirs.acquire(["ours:a"], 10_000)).rejects.toThrow(/quorum/);
  const forged = { ...lock, value: "not-ours", resources: ["ours:a"] };
  await theirs.release(forged).catch(() => {});
  for (const client of clients) expect(await client.get("ours:a")).toBe(lock.value);
  expect((await lock.release()).outcome).toBe("released");
  const v5 = await theirs.acquire(["ours:a"], 10_000);
  await v5.release();
});
