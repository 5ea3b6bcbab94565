import { resolveRedis } from "@redlock/testbed";
import { Logger } from "@valkey/valkey-glide";

// GLIDE logs every error reply at "warn", the NOSCRIPT before a script's first EVAL included.
Logger.setLoggerConfig("error");

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
// GLIDE takes addresses, and credentials apart (when REDIS_URLS has them).
const servers = redis.endpoints.map(({ host, port, username, password }) => ({
  host,
  port,
  credentials: password === undefined ? undefined : { username, password },
}));

// snippet:start
import { Redlock, ResourceLockedError } from "@redlock/valkey-glide";
import { GlideClient } from "@valkey/valkey-glide";

// One client per independent node. GLIDE's requestTimeout (250 ms by default) bounds every
// command: keep it above Redlock's nodeTimeout (1000 ms by default).
const clients = await Promise.all(
  servers.map(({ host, port, credentials }) =>
    GlideClient.createClient({ addresses: [{ host, port }], credentials, requestTimeout: 2000 }),
  ),
);
const redlock = new Redlock(clients);

const lock = await redlock.acquire(["invoice:42"], 5000);
try {
  await redlock.acquire(["invoice:42"], 5000, { retryCount: 0 }); // someone else tries
} catch (error) {
  if (error instanceof ResourceLockedError) console.log("busy, as expected");
}
const result = await lock.release(); // { outcome: "released", … }
await redlock.quit(); // waits for releases still under way, then closes every client
// snippet:end

console.log(`release: ${result.outcome}`);
await redis.close();
if (result.outcome !== "released") process.exitCode = 1;
