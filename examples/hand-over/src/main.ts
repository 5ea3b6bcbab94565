import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { Redlock, ResourceLockedError } from "@redlock/ioredis";
import { resolveRedis } from "@redlock/testbed";
import { Redis } from "ioredis";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const redlock = new Redlock(redis.urls.map((url) => new Redis(url)));

/** Start the worker with one job; resolves with what it printed once it exits. */
function runWorker(job: object): Promise<string> {
  const worker = spawn(process.execPath, ["--import", "tsx", "src/worker.ts"], {
    env: { ...process.env, REDIS_URLS: redis.urls.join(",") },
    stdio: ["pipe", "pipe", "inherit"],
  });
  worker.stdin.end(JSON.stringify(job));
  let output = "";
  worker.stdout.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) =>
    worker.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`worker exited ${code}`)),
    ),
  );
}

let workerDone: Promise<string> | undefined;

// The handler takes the lock, hands it to the worker and answers 202 at once: the lock stays
// held while the worker finishes the job, and a second request for the same order is refused.
const server = createServer(async (req, res) => {
  const order = new URL(req.url ?? "/", "http://localhost").searchParams.get("order") ?? "";
  try {
    const lock = await redlock.acquire([`order:${order}`], 15_000, { retryCount: 0 });
    workerDone = runWorker({ resources: lock.resources, value: lock.value, order });
    res.writeHead(202).end(`order ${order} accepted\n`);
  } catch (error) {
    if (!(error instanceof ResourceLockedError)) throw error;
    res.writeHead(409).end(`order ${order} is being processed\n`);
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as { port: number };

const first = await fetch(`http://127.0.0.1:${port}/?order=42`);
const second = await fetch(`http://127.0.0.1:${port}/?order=42`);
console.log(`first request: ${first.status}, second request: ${second.status}`);
const report = JSON.parse((await workerDone) as string) as { outcome: string };
console.log(`worker: ${report.outcome}`);
const [view] = await redlock.inspect(["order:42"]);
console.log(`order:42 is now ${view?.state}`);

server.close();
await redlock.quit();
await redis.close();
if (
  first.status !== 202 ||
  second.status !== 409 ||
  report.outcome !== "released" ||
  view?.state !== "free"
) {
  process.exitCode = 1;
}
