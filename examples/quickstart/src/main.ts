import { Redlock, ResourceLockedError } from "@redlock/core";
import { MemoryRunner } from "@redlock/core/testing";

// Three independent nodes. With a real Redis, use an adapter instead, for example
// `new Redlock([clientA, clientB, clientC])` from @redlock/ioredis.
const nodes = [new MemoryRunner(), new MemoryRunner(), new MemoryRunner()];
const redlock = new Redlock(nodes, { retryDelay: 50, retryJitter: 25 });

redlock.on("error", (error) => console.warn(`node error: ${error.message}`));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let balance = 0;

async function worker(name: string) {
  // `using` acquires, extends while the routine runs, and always releases.
  await redlock.using(["account:42"], 1000, async (signal) => {
    const read = balance;
    await sleep(20);
    if (signal.aborted) throw signal.error;
    balance = read + 10;
    console.log(`${name} credited the account: balance ${balance}`);
  });
}

await Promise.all(["worker-a", "worker-b", "worker-c"].map(worker));

// Try once, without waiting, while someone else holds the lock.
const held = await redlock.acquire(["account:42"], 2000);
try {
  await redlock.acquire(["account:42"], 2000, { retryCount: 0 });
} catch (error) {
  if (error instanceof ResourceLockedError) console.log(`busy: ${error.message}`);
}
const result = await held.release();
console.log(`release: ${result.outcome}; final balance ${balance} (expected 30)`);
if (balance !== 30) process.exitCode = 1;
