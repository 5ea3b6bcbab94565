import { Redlock } from "@redlock/ioredis";
import { Redis } from "ioredis";

// A worker process: it gets a job with the lock's resources and value (here on stdin; in
// production from a queue), adopts the lock, extends it while it works and releases it at the
// end. The value is a bearer secret: pass it only over channels you would pass a credential over.
const urls = (process.env.REDIS_URLS ?? "").split(",");
const redlock = new Redlock(urls.map((url) => new Redis(url)));

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input) as { resources: string[]; value: string; order: string };

const lock = await redlock.adopt(job.resources, job.value);
console.error(
  `worker: adopted the lock on ${job.order}, valid for ${Math.round(lock.expiration - Date.now())} ms`,
);
const extended = await lock.extend(30_000); // the job takes longer than the handler asked for
await new Promise((resolve) => setTimeout(resolve, 200)); // the work
const result = await extended.release();
console.log(JSON.stringify({ order: job.order, outcome: result.outcome }));
await redlock.quit();
