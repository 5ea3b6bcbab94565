import { Redlock } from "@redlock/ioredis";
import { startRedisNodes } from "@redlock/testbed";
import Redis from "ioredis";
import { FencedStore } from "./store";

// Three lock nodes and a separate storage server, all local throwaway processes.
const [storeNode, ...lockNodes] = await startRedisNodes(4);
const clients = lockNodes.map((node) => new Redis(node.url));
const redlock = new Redlock(clients, { retryDelay: 50 });
const storeClient = new Redis(storeNode!.url);
const store = new FencedStore(storeClient);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Client 1 takes the lock, then stalls (a GC pause, a frozen VM) longer than the lock lives.
const first = await redlock.acquire(["doc:report"], 500, { fencing: true });
console.log(`client 1 holds the lock with token ${first.fencingToken}`);
await sleep(700);

// Meanwhile the lock expired and client 2 took it, with a higher token, and wrote.
const second = await redlock.acquire(["doc:report"], 500, { fencing: true });
console.log(`client 2 holds the lock with token ${second.fencingToken}`);
console.log(
  `client 2 writes: ${(await store.write("report", "from client 2", second.fencingToken!)) ? "accepted" : "rejected"}`,
);
await second.release();

// Client 1 wakes up, unaware, and writes with its old token: the store refuses it.
const late = await store.write("report", "from client 1", first.fencingToken!);
console.log(`client 1 writes after its pause: ${late ? "accepted" : "rejected (stale token)"}`);
console.log(`the document holds: ${await store.read("report")}`);

await redlock.quit();
storeClient.disconnect();
await Promise.all([storeNode!, ...lockNodes].map((node) => node.stop()));
if (late || (await Promise.resolve(second.fencingToken! <= first.fencingToken!)))
  process.exitCode = 1;
