import { QuorumUnreachableError } from "@redlock/core";
import type { SuiteContext } from "./context";

/** Errors carry the node's name and cause; a paused minority is not waited for; a down majority fails typed. */
export function faultsGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("faults", () => {
    ctx.test(
      "faults",
      "a failing node rejects with an error naming the node, with the original as cause",
      ["down"],
      async () => {
        const [node] = ctx.take(1);
        ctx.need(node!, "down");
        await node!.down!();
        const error = (await node!.runner
          .run(ctx.redlock(1).scripts.acquireScript, [ctx.key("down")], ["v", 1000])
          .then(
            () => undefined,
            (e: unknown) => e as Error & { code?: string },
          )) as (Error & { code?: string }) | undefined;
        expect(error).toBeDefined();
        expect(String(error?.code)).toMatch(/^NODE_(ERROR|TIMEOUT|UNREACHABLE)$/);
        expect(error?.message.startsWith(`[${node!.runner.name}]`)).toBe(true);
        if (error?.code === "NODE_ERROR") expect(error.cause).toBeDefined();
      },
    );

    ctx.test("faults", "a paused minority does not delay the decision", ["pause"], async () => {
      const nodes = ctx.take(5);
      for (const node of nodes.slice(3)) ctx.need(node, "pause");
      await nodes[3]!.pause!();
      await nodes[4]!.pause!();
      const redlock = ctx.redlock(5, { nodeTimeout: 20_000 });
      const lock = await redlock.acquire([ctx.key("paused")], 30_000);
      // Decided at quorum: the paused nodes' votes are still outstanding.
      let allVotesIn = false;
      void lock.attempts[0]?.then(() => {
        allVotesIn = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(allVotesIn).toBe(false);
      await nodes[3]!.resume!();
      await nodes[4]!.resume!();
      const stats = await lock.attempts[0];
      expect(stats?.votesFor.size).toBe(5);
      expect((await lock.release()).outcome).toBe("released");
    });

    ctx.test("faults", "a majority down fails with QuorumUnreachableError", ["down"], async () => {
      const nodes = ctx.take(3);
      for (const node of nodes.slice(0, 2)) ctx.need(node, "down");
      await nodes[0]!.down!();
      await nodes[1]!.down!();
      const redlock = ctx.redlock(3, { nodeTimeout: 2000 });
      const error = await redlock.acquire([ctx.key("majority")], 5000, { retryCount: 1 }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.name).toBe(QuorumUnreachableError.name);
      expect(error?.code).toBe("QUORUM_UNREACHABLE");
      expect(await nodes[2]!.get(ctx.key("majority"))).toBe(null);
    });
  });
}
