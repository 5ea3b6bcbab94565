import { resolveRedis } from "@redlock/testbed";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const urls = redis.urls;

// snippet:start
import { createBunRunner, Redlock, ResourceLockedError } from "@redlock/bun";
import { RedisClient } from "bun";

// Bun's client does not expose its address: pass the URL to name each node after its server.
const redlock = new Redlock(urls.map((url) => createBunRunner(new RedisClient(url), { url })));

const lock = await redlock.acquire(["invoice:42"], 5000);
try {
  await redlock.acquire(["invoice:42"], 5000, { retryCount: 0 }); // someone else tries
} catch (error) {
  if (error instanceof ResourceLockedError) console.log("busy, as expected");
}
const result = await lock.release(); // { outcome: "released", … }
await redlock.quit(); // closes the clients
// snippet:end

console.log(`release: ${result.outcome}`);
await redis.close();
if (result.outcome !== "released") process.exitCode = 1;
