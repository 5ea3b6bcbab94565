import { quorum, ResourceLockedError } from "@redlock/core";
import { type SuiteContext, sleep } from "./context";

/** Acquire, extend, release and expiry on 1, 3 and 5 nodes, and every quorum mask for 3 and 5. */
export function lifecycleGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("lifecycle", () => {
    for (const n of [1, 3, 5]) {
      ctx.test("lifecycle", `acquire, extend, release on ${n} node(s)`, [], async () => {
        const nodes = ctx.take(n);
        const redlock = ctx.redlock(n);
        const resources = [ctx.key("a"), ctx.key("b")];
        const lock = await redlock.acquire(resources, 5000);
        // The decision comes at quorum; wait for every node's vote before reading them all.
        await Promise.all(lock.attempts);
        for (const node of nodes) {
          for (const key of resources) expect(await node.get(key)).toBe(lock.value);
        }
        const extended = await lock.extend(20_000);
        await Promise.all(extended.attempts);
        for (const node of nodes) expect(await node.pttl(resources[0]!)).toBeGreaterThan(5000);
        const result = await extended.release();
        await Promise.all(result.attempts);
        expect(result.outcome).toBe("released");
        for (const node of nodes) expect(await node.get(resources[1]!)).toBe(null);
      });

      ctx.test("lifecycle", `a lock expires on its own on ${n} node(s)`, [], async () => {
        const nodes = ctx.take(n);
        const redlock = ctx.redlock(n);
        const key = ctx.key("expiry");
        const lock = await redlock.acquire([key], 150);
        // The decision comes at quorum; the TTL runs on each node from its own SET.
        await Promise.all(lock.attempts);
        await sleep(250);
        for (const node of nodes) expect(await node.get(key)).toBe(null);
        expect(lock.remainingTime()).toBe(0);
        expect((await lock.release()).outcome).toBe("expired");
        const next = await redlock.acquire([key], 1000, { retryCount: 0 });
        await next.release();
      });
    }
  });

  describe("quorum masks", () => {
    for (const n of [3, 5]) {
      ctx.test(
        "lifecycle",
        `on ${n} nodes a lock succeeds iff the free nodes reach a quorum (all ${2 ** n} masks)`,
        [],
        async () => {
          const nodes = ctx.take(n);
          const redlock = ctx.redlock(n);
          for (let mask = 0; mask < 2 ** n; mask++) {
            const key = ctx.key(`mask-${mask}`);
            const held = nodes.filter((_, i) => (mask >> i) & 1);
            await Promise.all(held.map((node) => node.set(key, "foreign", 30_000)));
            const free = n - held.length;
            const outcome = await redlock.acquire([key], 5000, { retryCount: 0 }).then(
              (lock) => lock,
              (error: unknown) => error as Error,
            );
            if (free >= quorum(n)) {
              expect(outcome instanceof Error ? outcome.message : "acquired").toBe("acquired");
              if (!(outcome instanceof Error)) await outcome.release();
            } else {
              expect(outcome instanceof Error && outcome.name).toBe(ResourceLockedError.name);
              // Partial grants are released in the background: only the foreign holders remain.
              await redlock.idle();
              const values = await Promise.all(nodes.map((node) => node.get(key)));
              expect(values.filter((value) => value !== null && value !== "foreign")).toEqual([]);
            }
            for (const node of held) expect(await node.get(key)).toBe("foreign");
          }
        },
      );
    }
  });
}
