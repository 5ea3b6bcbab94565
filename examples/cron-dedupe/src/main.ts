import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { resolveRedis } from "@redlock/testbed";
import Redis from "ioredis";
import type { Reply, Request } from "./messages";

const WORKERS = 4;
const TICKS = 5;

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const { urls } = redis;
const stop = () => redis.close();
const store = new Redis(urls[0]!);
const script = fileURLToPath(new URL("./worker.ts", import.meta.url));

// Four copies of the same service, each with its own Redis connections and its own scheduler.
const workers = Array.from({ length: WORKERS }, (_, i) =>
  fork(script, urls, { env: { ...process.env, WORKER_NAME: `worker-${i + 1}` } }),
);
const next = (worker: ChildProcess) =>
  Promise.race([
    once(worker, "message").then(([reply]) => reply as Reply),
    once(worker, "exit").then(([code]) => {
      throw new Error(`worker ${worker.pid} exited with code ${code}`);
    }),
  ]);
await Promise.all(workers.map(next));
console.log(`${WORKERS} worker processes ready, ${urls.length} Redis nodes`);

const run = Date.now().toString(36);
let failed = false;
for (let i = 1; i <= TICKS; i++) {
  const tick = `${run}-${i}`;
  const replies = workers.map(next);
  for (const worker of workers) worker.send({ type: "tick", tick } satisfies Request);
  const answers = await Promise.all(replies);
  const ran = answers.flatMap((a) => (a.type === "tick" && a.ran ? [a.worker] : []));
  const errors = answers.flatMap((a) => (a.type === "tick" && a.error ? [a.error] : []));
  const runs = Number(await store.get(`cron:runs:${tick}`));
  console.log(
    `tick ${i} (job:nightly-report:${tick}): ran on ${ran.join(", ") || "nobody"}, ` +
      `${WORKERS - ran.length} skipped, runs recorded ${runs}` +
      (errors.length ? `, errors: ${errors.join("; ")}` : ""),
  );
  if (runs !== 1 || ran.length !== 1) failed = true;
}

for (const worker of workers) worker.send({ type: "stop" } satisfies Request);
await Promise.all(workers.map((worker) => once(worker, "exit")));
store.disconnect();
await stop();
console.log(failed ? "FAILED: a tick did not run exactly once" : "every tick ran exactly once");
if (failed) process.exitCode = 1;
