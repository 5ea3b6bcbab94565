import { resolveRedis } from "@redlock/testbed";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const urls = redis.urls;

// snippet:start
import { Redlock, ResourceLockedError } from "@redlock/node-redis";
import { createClient } from "redis";

const clients = urls.map((url) => createClient({ url }).on("error", console.error));
await Promise.all(clients.map((client) => client.connect()));
const redlock = new Redlock(clients);

const lock = await redlock.acquire(["invoice:42"], 5000);
try {
  await redlock.acquire(["invoice:42"], 5000, { retryCount: 0 }); // someone else tries
} catch (error) {
  if (error instanceof ResourceLockedError) console.log("busy, as expected");
}
const result = await lock.release(); // { outcome: "released", … }
await redlock.quit();
// snippet:end

console.log(`release: ${result.outcome}`);
await redis.close();
if (result.outcome !== "released") process.exitCode = 1;
