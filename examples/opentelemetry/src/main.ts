import { Redlock } from "@redlock/ioredis";
import { resolveRedis, startFaultProxy } from "@redlock/testbed";
import Redis from "ioredis";
import { printMetrics, printSpans } from "./print";
import { startSdk } from "./sdk";
import { instrument } from "./telemetry";

const sdk = startSdk();

// Three nodes; the third is reached through a fault proxy so that it can be taken down.
// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const { urls } = redis;
const stop = () => redis.close();
const { hostname, port } = new URL(urls[2]!);
const proxy = await startFaultProxy({ host: hostname, port: Number(port) });
const clients = [urls[0]!, urls[1]!, proxy.url].map(
  (url) => new Redis(url, { retryStrategy: () => 50 }),
);
// Connection errors are reported (and counted) as the lock's node errors.
for (const client of clients) client.on("error", () => {});
const redlock = new Redlock(clients, { retryDelay: 50, retryJitter: 25, nodeTimeout: 200 });
const locks = instrument(redlock);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const work = (ms: number) => async (signal: AbortSignal & { error?: Error }) => {
  await sleep(ms);
  if (signal.aborted) throw signal.error;
};

// 1. Uncontended. 2. Contended: one holder, one caller that will not wait, one that queues.
await locks.using(["report:daily"], 1000, {}, work(30));
let held = () => {};
const holding = new Promise<void>((resolve) => {
  held = resolve;
});
const hold = (ms: number) => async (signal: AbortSignal & { error?: Error }) => {
  held();
  await work(ms)(signal);
};
await Promise.allSettled([
  locks.using(["invoice:42"], 1000, {}, hold(100)),
  holding.then(() => locks.using(["invoice:42"], 1000, { retryCount: 0 }, work(10))),
  holding.then(() => locks.using(["invoice:42", "customer:7"], 1000, {}, work(30))),
]);
// 3. A lock that may not be extended (maxHoldTime) held past its validity: lost.
const capped = { maxHoldTime: 500, automaticExtensionThreshold: 200 };
await locks.using(["sync:inventory"], 500, capped, work(700)).catch(() => {});
// 4. One node down: a quorum of two still grants the lock; the node's failures are counted.
const timeouts = new Promise<void>((resolve) => {
  let seen = 0;
  redlock.on("error", () => ++seen === 2 && resolve());
});
proxy.reset();
console.log(`node 3 (${proxy.url}) is down`);
await locks.using(["export:weekly"], 1000, {}, work(30));
await timeouts; // its acquire and its release, after nodeTimeout

printSpans(sdk.spans());
const counts = printMetrics(await sdk.metrics());

proxy.pass();
await clients[2]!.ping();
await redlock.idle();
await redlock.quit();
await proxy.close();
await stop();
await sdk.shutdown();
const ok =
  sdk.spans().length === 6 &&
  counts["redlock.locks.acquired"] === 5 &&
  counts["redlock.locks.released"] === 5 &&
  counts["redlock.locks.lost"] === 1 &&
  (counts["redlock.node.errors"] ?? 0) >= 2;
console.log(ok ? "all checks passed" : "FAILED");
if (!ok) process.exitCode = 1;
