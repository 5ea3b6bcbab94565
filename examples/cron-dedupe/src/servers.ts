import { startRedisNodes } from "@redlock/testbed";

/**
 * Redis URLs for the demo: `REDIS_URLS` (comma-separated) if set, otherwise three throwaway
 * `redis-server` processes on free local ports, stopped when the demo exits.
 */
export async function redisUrls(): Promise<{ urls: string[]; stop: () => Promise<void> }> {
  const fromEnv = process.env.REDIS_URLS?.split(",").filter(Boolean);
  if (fromEnv?.length) return { urls: fromEnv, stop: async () => {} };
  const nodes = await startRedisNodes(3);
  return {
    urls: nodes.map((node) => node.url),
    stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))),
  };
}
