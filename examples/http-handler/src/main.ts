import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redlock } from "@redlock/ioredis";
import { resolveRedis } from "@redlock/testbed";
import Redis from "ioredis";
import { SlowLedger } from "./downstream";
import { type OrderReply, orderHandler } from "./handler";

// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const { urls } = redis;
const stop = () => redis.close();
const redlock = new Redlock(urls.map((url) => new Redis(url)));
const lostReasons: string[] = [];
redlock.on("lost", (lock, error) => {
  lostReasons.push(error.message);
  console.log(`  [lost] ${lock.resources}: ${error.message}`);
});
const ledger = new SlowLedger();
const server = createServer(orderHandler(redlock, ledger));
server.listen(0, "127.0.0.1");
await once(server, "listening");
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const t0 = performance.now();
const ms = (t: number) => `${Math.round(t - t0)} ms`;
const post = async (query: string) => {
  const response = await fetch(`${base}/orders?${query}`, { method: "POST" });
  return { status: response.status, body: (await response.json()) as OrderReply };
};

console.log(`listening on ${base}; 5 concurrent requests, 150 ms of work each:`);
const orders = ["1", "1", "1", "2", "2"];
const replies = await Promise.all(orders.map((order) => post(`order=${order}&work=150`)));
const done = replies.flatMap(({ body }) => ("receipt" in body ? [body] : []));
for (const { status, body } of replies) {
  if (!("receipt" in body)) console.log(`  order ${body.order}: HTTP ${status}: ${body.message}`);
}
for (const r of [...done].sort((a, b) => a.start - b.start)) {
  console.log(`  order ${r.order}: worked from ${ms(r.start)} to ${ms(r.end)} (${r.receipt})`);
}
const overlapping = done.some((a) =>
  done.some((b) => a !== b && a.order === b.order && a.start < b.end && b.start < a.end),
);
console.log(`  same-order requests overlapped: ${overlapping ? "yes" : "no"}`);

console.log("2 requests with 2200 ms of work: order 4 uncapped, order 3 with maxHoldTime 2000:");
const [kept, lost] = await Promise.all([
  post("order=4&work=2200"),
  post("order=3&work=2200&maxHold=2000"),
]);
for (const { status, body } of [kept, lost]) {
  const what = "receipt" in body ? `${body.receipt}, ${body.extensions} extension(s)` : body.error;
  console.log(`  order ${body.order}: HTTP ${status} at ${ms(body.end)}: ${what}`);
}
for (const entry of ledger.entries.filter((e) => e.order === "3" || e.order === "4")) {
  console.log(`  downstream: order ${entry.order} ${entry.outcome} after ${entry.afterMs} ms`);
}

server.close();
server.closeAllConnections();
await redlock.idle();
await redlock.quit();
await stop();
const order3 = ledger.entries.filter((e) => e.order === "3").map((e) => e.outcome);
const ok =
  done.length === orders.length &&
  !overlapping &&
  kept.status === 200 &&
  lost.status === 503 &&
  order3.join() === "cancelled" &&
  lostReasons.length === 1 &&
  lostReasons[0]!.includes("maxHoldTime");
console.log(ok ? "all checks passed" : "FAILED");
if (!ok) process.exitCode = 1;
