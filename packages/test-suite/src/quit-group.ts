import { defaultScripts } from "@redlock/core/adapter";
import { eventually, SETTLE_MS, type SuiteContext, settle, within } from "./context";

const { acquireScript } = defaultScripts;

/**
 * `runner.quit()`: it resolves, the calls pending at that moment settle, a call made after it
 * settles, and no connection to the node stays open to keep the process alive. Each test quits a
 * runner of its own, from the node's `openRunner` control.
 */
export function quitGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("quit", () => {
    ctx.test(
      "quit",
      "quit() resolves, and the calls pending at that moment settle",
      ["openRunner"],
      async () => {
        const [node] = ctx.take(1);
        const { runner } = await ctx.openRunner(node!);
        const quit = ctx.capability(runner, "quit", "quit");
        expect(await runner.run(acquireScript, [ctx.key("before-quit")], ["v", 30_000])).toBe(1);
        const pending = [1, 2, 3].map((i) =>
          settle(runner.run(acquireScript, [ctx.key(`pending-${i}`)], ["v", 30_000])),
        );
        const quitting = settle(quit());
        const [outcome] = await within(
          Promise.all([quitting, ...pending]),
          SETTLE_MS,
          "quit(), or a call pending when it was called, did not settle",
        );
        expect(outcome!.status === "rejected" ? String(outcome.error) : "resolved").toBe(
          "resolved",
        );
      },
    );

    ctx.test(
      "quit",
      "after quit() a call settles, and no connection to the node stays open",
      ["openRunner"],
      async () => {
        const [node] = ctx.take(1);
        const opened = await ctx.openRunner(node!);
        const { runner } = opened;
        const quit = ctx.capability(runner, "quit", "quit");
        expect(await runner.run(acquireScript, [ctx.key("before-quit")], ["v", 30_000])).toBe(1);
        if (runner.onRelease && ctx.options.groups?.onRelease !== false) {
          // Open the subscriber connection too: quit() must close it as well.
          await within(
            runner.onRelease(ctx.key("subscribed"), () => {}),
            SETTLE_MS,
            "onRelease() did not resolve",
          );
        }
        await within(quit(), SETTLE_MS, "quit() did not settle");
        await within(
          settle(runner.run(acquireScript, [ctx.key("after-quit")], ["v", 30_000])),
          SETTLE_MS,
          "a call after quit() did not settle",
        );
        let open = -1;
        const closed = await eventually(async () => {
          open = await opened.openConnections();
          return open === 0;
        }, SETTLE_MS);
        if (!closed) {
          throw new Error(
            `${open} connection(s) to the node still open after quit() and a later call: they keep the process alive`,
          );
        }
        expect(open).toBe(0);
      },
    );
  });
}
