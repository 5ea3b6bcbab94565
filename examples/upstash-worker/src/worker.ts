import { Redlock, RedlockError, type ReleaseResult } from "@redlock/upstash";
import { Redis } from "@upstash/redis/cloudflare";

/** The worker's bindings: the Upstash databases, one independent Redlock node each. */
interface Env {
  NODES: string;
}

/** The part of the Workers `ExecutionContext` this worker uses. */
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The job: read a counter, work, write it back. Correct only while nobody else runs it. */
async function countRun(store: Redis, job: string): Promise<number> {
  const runs = Number((await store.get<number>(`edge:${job}:runs`)) ?? 0) + 1;
  await sleep(100);
  await store.set(`edge:${job}:runs`, runs);
  return runs;
}

/** `GET /run?job=<name>[&wait=0]`: runs the job under its lock, waiting for it unless `wait=0`. */
async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const job = url.searchParams.get("job") ?? "report";
  const wait = url.searchParams.get("wait") !== "0";
  const nodes = JSON.parse(env.NODES) as { url: string; token: string }[];
  const clients = nodes.map((node) => new Redis(node));
  const redlock = new Redlock(clients, { retryDelay: 50, retryJitter: 25 });
  const started = Date.now();
  try {
    const settings = wait ? { retryCount: -1, acquireTimeout: 5000 } : { retryCount: 0 };
    const lock = await redlock.acquire([`edge:${job}`], 5000, settings);
    const waited = Date.now() - started;
    let runs: number;
    let released: ReleaseResult;
    try {
      runs = await countRun(clients[0]!, job);
    } finally {
      released = await lock.release();
    }
    const { outcome } = released;
    return Response.json({ run: runs, waited, attempts: lock.attempts.length, outcome });
  } catch (error) {
    const code = error instanceof RedlockError ? error.code : "INTERNAL";
    const status = code === "RESOURCE_LOCKED" ? 409 : 503;
    return Response.json({ error: code, message: (error as Error).message }, { status });
  } finally {
    // After the response: the slowest database still has to hear the acquire and release (they
    // are decided at quorum), and failed attempts release their partial grants in the
    // background, each once the request it undoes has settled. Keep the worker alive until
    // all of it is done.
    ctx.waitUntil(settle(redlock, clients[0]!, job));
  }
}

/** The request's background work; once it is done, the request counts itself as settled. */
async function settle(redlock: Redlock, store: Redis, job: string): Promise<void> {
  await redlock.idle();
  // Resolves once no lock request is in flight (a REST client has no connection to close).
  await redlock.quit();
  await store.incr(`edge:${job}:settled`);
}

// biome-ignore lint/style/noDefaultExport: workerd calls the handlers of the default export.
export default { fetch: handle };
