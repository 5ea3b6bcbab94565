import { Redlock, ResourceLockedError } from "@redlock/ioredis";
import { resolveRedis } from "@redlock/testbed";
import Redis from "ioredis";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const { urls } = redis;
const stop = () => redis.close();
// One client per independent Redis node.
const clients = urls.map((url) => new Redis(url));
const redlock = new Redlock(clients, { retryDelay: 50, retryJitter: 25 });
redlock.on("error", (error) => console.warn(`node error: ${error.message}`));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const account = clients[0]!;
await account.set("demo:balance", 0);

async function worker(name: string) {
  // `using` acquires, extends while the routine runs, and always releases.
  await redlock.using(["demo:account:42"], 1000, async (signal) => {
    const read = Number(await account.get("demo:balance"));
    await sleep(20);
    if (signal.aborted) throw signal.error;
    await account.set("demo:balance", read + 10);
    console.log(`${name} credited the account: balance ${read + 10}`);
  });
}

await Promise.all(["worker-a", "worker-b", "worker-c"].map(worker));

// Try once, without waiting, while someone else holds the lock.
const held = await redlock.acquire(["demo:account:42"], 2000);
try {
  await redlock.acquire(["demo:account:42"], 2000, { retryCount: 0 });
} catch (error) {
  if (error instanceof ResourceLockedError) console.log(`busy: ${error.message}`);
}
const result = await held.release();
const balance = Number(await account.get("demo:balance"));
console.log(
  `release: ${result.outcome}; final balance ${balance} (expected 30) on ${urls.length} nodes`,
);

await redlock.quit();
await stop();
if (balance !== 30) process.exitCode = 1;
