import { resolveRedis, startUpstashBridge } from "@redlock/testbed";

// Three local REST endpoints speaking the Upstash protocol, each in front of a redis-server.
const redis = await resolveRedis(3);
const bridges = await Promise.all(redis.urls.map((redisUrl) => startUpstashBridge({ redisUrl })));
const databases = bridges.map((bridge) => ({ url: bridge.url, token: bridge.token }));

// snippet:start
import { Redlock, ResourceLockedError } from "@redlock/upstash";
import { Redis } from "@upstash/redis";

const redlock = new Redlock(databases.map(({ url, token }) => new Redis({ url, token })));

const lock = await redlock.acquire(["invoice:42"], 5000);
try {
  await redlock.acquire(["invoice:42"], 5000, { retryCount: 0 }); // someone else tries
} catch (error) {
  if (error instanceof ResourceLockedError) console.log("busy, as expected");
}
const result = await lock.release(); // { outcome: "released", … }
await redlock.idle(); // releases still reaching the other nodes, before the process ends
// snippet:end

console.log(`release: ${result.outcome}`);
await Promise.all(bridges.map((bridge) => bridge.close()));
await redis.close();
if (result.outcome !== "released") process.exitCode = 1;
