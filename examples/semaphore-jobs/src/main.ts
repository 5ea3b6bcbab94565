import { resolveRedis } from "@redlock/testbed";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const urls = redis.urls;

// snippet:start
import { Redlock } from "@redlock/ioredis";
import { Redis } from "ioredis";

const redlock = new Redlock(urls.map((url) => new Redis(url)));
// At most two exports run at once, whichever process or service starts them.
const exports = redlock.semaphore("report-export", { limit: 2 });

let running = 0;
let most = 0;
async function exportReport(id: number): Promise<void> {
  await exports.using(5000, { retryCount: -1 }, async (signal) => {
    running++;
    most = Math.max(most, running);
    console.log(`export ${id} started (${running} running)`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the work; check signal.aborted
    running--;
    if (signal.aborted) throw signal.error;
  });
}

await Promise.all([1, 2, 3, 4, 5, 6].map(exportReport));
await redlock.quit();
// snippet:end

console.log(`at most ${most} exports ran at once`);
await redis.close();
// The limit is what is guaranteed; how many ran side by side at best depends on timing.
if (most < 1 || most > 2) process.exitCode = 1;
