import type { IncomingMessage, ServerResponse } from "node:http";
import { LockLostError, type Redlock, RedlockError } from "@redlock/ioredis";
import type { SlowLedger } from "./downstream";

/** What the handler answers; times are `performance.now()` values of this process. */
export type OrderReply =
  | { order: string; receipt: string; start: number; end: number; extensions: number }
  | { order: string; error: string; message: string; end: number };

/**
 * `POST /orders?order=<id>&work=<ms>[&maxHold=<ms>]`: processes one order while holding the lock
 * on it. The lock's signal goes down to the downstream call, so the work stops as soon as the
 * lock can no longer be relied on.
 */
export function orderHandler(redlock: Redlock, ledger: SlowLedger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const order = url.searchParams.get("order") ?? "0";
    const work = Number(url.searchParams.get("work") ?? 100);
    const maxHold = url.searchParams.get("maxHold");
    // Wait up to 5 s for the lock, however many tries that takes, then answer 409.
    const settings = {
      retryCount: -1,
      acquireTimeout: 5000,
      maxHoldTime: maxHold ? Number(maxHold) : undefined,
    };
    let status = 200;
    let reply: OrderReply;
    try {
      reply = await redlock.using([`order:${order}`], 2000, settings, async (signal, context) => {
        const start = performance.now();
        const receipt = await ledger.write(order, work, signal);
        if (signal.aborted) throw signal.error;
        return { order, receipt, start, end: performance.now(), extensions: context.extensions };
      });
    } catch (error) {
      // Lost mid-work: 503, the client may retry. Busy or no quorum: 409. Anything else: 500.
      status = error instanceof LockLostError ? 503 : error instanceof RedlockError ? 409 : 500;
      const code = error instanceof RedlockError ? error.code : "INTERNAL";
      reply = { order, error: code, message: (error as Error).message, end: performance.now() };
    }
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(reply));
  };
}
