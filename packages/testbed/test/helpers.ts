import { Redis, type RedisOptions } from "ioredis";

const clients = new Set<Redis>();

/** An ioredis client that never reconnects, fails fast, and is closed by `closeClients()`. */
export function client(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    disconnectTimeout: 50,
    ...options,
  });
  redis.on("error", () => {});
  clients.add(redis);
  return redis;
}

export function closeClients(): void {
  for (const redis of clients) redis.disconnect();
  clients.clear();
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with how long `promise` took, in ms, and its settled state. */
export async function timed<T>(
  promise: Promise<T>,
): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/** Retries `fn` every 50 ms until it resolves or `timeoutMs` passes, then rethrows the last error. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
