import { resolveRedis } from "@redlock/testbed";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const urls = redis.urls;

// snippet:start
import { Redlock } from "@redlock/ioredis";
import { Redis } from "ioredis";

const redlock = new Redlock(
  urls.map((url) => new Redis(url)),
  { retryCount: -1 },
);
const cacheLock = redlock.readWriteLock("cache:products");
let cache: string[] = ["a", "b", "c"];

// Readers share the lock; a rebuild holds it alone, so no reader sees a half-built cache.
async function readProducts(): Promise<number> {
  return cacheLock.usingRead(5000, async () => cache.length);
}

async function rebuild(): Promise<void> {
  await cacheLock.usingWrite(10_000, async (signal) => {
    cache = []; // half-built from here…
    for (const product of ["a", "b", "c", "d"]) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (signal.aborted) throw signal.error;
      cache.push(product);
    }
  });
}

const seen = await Promise.all([
  readProducts(),
  rebuild(),
  readProducts(),
  readProducts(),
  rebuild(),
  readProducts(),
]);
await redlock.quit();
// snippet:end

const sizes = seen.filter((size) => typeof size === "number");
console.log(`readers saw caches of ${sizes.join(", ")} products`);
await redis.close();
// Every read saw a whole cache: 3 before the first rebuild, 4 after.
if (!sizes.every((size) => size === 3 || size === 4)) process.exitCode = 1;
