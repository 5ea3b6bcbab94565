import { Redlock, ResourceLockedError } from "@redlock/ioredis";
import Redis from "ioredis";
import type { Reply, Request } from "./messages";

/**
 * One of several identical processes that share a schedule. On each tick every process tries to
 * take the tick's lock without waiting for it; the one that gets it runs the job, the others skip.
 */
const name = process.env.WORKER_NAME ?? `pid-${process.pid}`;
const urls = process.argv.slice(2);
const clients = urls.map((url) => new Redis(url));
const redlock = new Redlock(clients);
redlock.on("error", (error) => console.warn(`${name}: node error: ${error.message}`));
const store = clients[0]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (reply: Reply) => process.send?.(reply);

/**
 * One try, without waiting: whoever is first runs the tick. Processes that reach the nodes at the
 * same instant can split them so that nobody has a majority; another try after a random pause
 * settles that (two more at most), and cannot run the tick twice because the winner keeps its lock.
 */
async function claim(tick: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Held until it expires: releasing it after the job would let a late process run the tick
      // again. The TTL must cover the spread between the processes' timers.
      await redlock.acquire([`job:nightly-report:${tick}`], 10_000, { retryCount: 0 });
      return true;
    } catch (error) {
      if (!(error instanceof ResourceLockedError)) throw error;
      if (attempt === 3) return false;
      await sleep(attempt * (10 + Math.random() * 40));
    }
  }
}

async function onTick(tick: string): Promise<Reply> {
  // Timers in different processes never fire at exactly the same instant.
  await sleep(Math.random() * 5);
  if (!(await claim(tick))) return { type: "tick", tick, worker: name, ran: false };
  await store.incr(`cron:runs:${tick}`);
  await store.pexpire(`cron:runs:${tick}`, 60_000);
  await sleep(50);
  return { type: "tick", tick, worker: name, ran: true };
}

process.on("message", (message: Request) => {
  if (message.type === "stop") {
    void redlock
      .idle()
      .then(() => redlock.quit())
      .then(() => process.disconnect());
    return;
  }
  onTick(message.tick).then(send, (error: Error) => {
    send({ type: "tick", tick: message.tick, worker: name, ran: false, error: error.message });
  });
});

await Promise.all(clients.map((client) => client.ping()));
send({ type: "ready", worker: name });
