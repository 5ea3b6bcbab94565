import type { ScriptRunner } from "@redlock/core";
import { defaultScripts } from "@redlock/core/adapter";
import { PROMPT_MS, type SuiteContext, settle, within } from "./context";

const { acquireScript, releaseScript } = defaultScripts;

/**
 * A call given a `signal` without `enforced` rejects promptly once the signal aborts, and sends
 * nothing more: no `EVAL` after a `NOSCRIPT` reply that comes back after the abort.
 */
export function abortGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("abort signals (without enforced)", () => {
    ctx.test(
      "abortSignals",
      "a call with an already-aborted signal rejects at once and writes nothing",
      [],
      async () => {
        const [node] = ctx.take(1);
        const key = ctx.key("pre-aborted");
        const outcome = await within(
          settle(node!.runner.run(acquireScript, [key], ["v", 30_000], { signal: aborted() })),
          PROMPT_MS,
          "a call with an already-aborted signal did not settle",
        );
        expect(outcome.status).toBe("rejected");
        await roundTrips(node!.runner, ctx.key("after"));
        expect(await node!.get(key)).toBe(null);
      },
    );

    ctx.test(
      "abortSignals",
      "a call whose signal aborts while the node does not answer rejects promptly",
      ["pause"],
      async () => {
        const [node] = ctx.take(1);
        ctx.need(node!, "pause");
        await node!.pause!();
        const controller = new AbortController();
        const call = settle(
          node!.runner.run(acquireScript, [ctx.key("aborted")], ["v", 30_000], {
            signal: controller.signal,
          }),
        );
        await nextTask();
        controller.abort();
        const outcome = await within(
          call,
          PROMPT_MS,
          "the call did not reject once its signal aborted (RunOptions.signal without enforced)",
        );
        expect(outcome.status).toBe("rejected");
      },
    );

    ctx.test(
      "abortSignals",
      "after the signal aborted, a NOSCRIPT reply is not followed by EVAL",
      ["pause"],
      async () => {
        const [node] = ctx.take(1);
        ctx.need(node!, "pause");
        const key = ctx.key("noscript-after-abort");
        await node!.flushScripts();
        await node!.pause!();
        const controller = new AbortController();
        const call = settle(
          node!.runner.run(acquireScript, [key], ["v", 30_000], { signal: controller.signal }),
        );
        await nextTask();
        controller.abort();
        const outcome = await within(call, PROMPT_MS, "the call did not reject once aborted");
        expect(outcome.status).toBe("rejected");
        // The node now answers EVALSHA with NOSCRIPT; an EVAL sent after it would take the key.
        await node!.resume!();
        await roundTrips(node!.runner, ctx.key("after"));
        expect(await node!.get(key)).toBe(null);
      },
    );
  });
}

/** An already-aborted signal (`AbortSignal.abort()`, spelled out for older runtimes). */
function aborted(): AbortSignal {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
}

/** Let the runner act on a call it was just given (connect, write) before the test goes on. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Two calls through `runner` that come back after anything it sent before them on the same
 * connection: by then, an `EVAL` it wrongly sent after an abort has run.
 */
async function roundTrips(runner: ScriptRunner, key: string): Promise<void> {
  for (let i = 0; i < 2; i++) await runner.run(releaseScript, [key], ["none"]);
}
