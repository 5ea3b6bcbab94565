import { Redlock, type ScriptRunner } from "@redlock/core";
import { defaultScripts } from "@redlock/core/adapter";
import { eventually, SETTLE_MS, type SuiteContext, settle, WAKE_MS, within } from "./context";
import type { ConformanceNode } from "./types";

const { acquireScript, releaseScript } = defaultScripts;

/** The waiter's retry delay and the holder's TTL: far longer than {@link WAKE_MS}. */
const RETRY_DELAY_MS = 20_000;
const HOLD_MS = 30_000;

/**
 * `runner.onRelease`: a release through any runner calls the listeners subscribed for its key,
 * which wakes a waiting `Redlock` long before its next retry; unsubscribing ends it.
 */
export function onReleaseGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("release announcements (onRelease)", () => {
    ctx.test(
      "onRelease",
      "a release calls the listener subscribed with onRelease, until it unsubscribes",
      [],
      async () => {
        const [node] = ctx.take(1);
        const onRelease = ctx.capability(node!.runner, "onRelease", "onRelease");
        const key = ctx.key("announced");
        let calls = 0;
        let heard = () => {};
        const called = new Promise<void>((resolve) => {
          heard = resolve;
        });
        const off = await within(
          onRelease(key, () => {
            calls++;
            heard();
          }),
          SETTLE_MS,
          "onRelease() did not resolve",
        );
        expect(typeof off).toBe("function");
        const releaser = await otherRunner(ctx, node!);
        const [deleted, , reached] = await holdAndRelease(releaser, key);
        expect(deleted).toBe(1);
        if (!((reached ?? 0) > 0)) {
          throw new Error(
            "the release reached no subscriber: onRelease() resolved before its subscription was active on the node",
          );
        }
        await within(
          called,
          WAKE_MS,
          "the listener was not called after the release: announcements do not reach onRelease() listeners",
        );
        expect(calls).toBe(1);

        await within(off(), SETTLE_MS, "the function onRelease() resolved with did not settle");
        const unsubscribed = await eventually(
          async () => (await holdAndRelease(releaser, key))[2] === 0,
          SETTLE_MS,
        );
        if (!unsubscribed) {
          throw new Error("after unsubscribing, releases of the key still reach a subscriber");
        }
        expect(calls).toBe(1);
      },
    );

    ctx.test(
      "onRelease",
      `a waiter retrying every ${RETRY_DELAY_MS} ms gets the lock soon after the holder releases it`,
      [],
      async () => {
        const nodes = ctx.take(3);
        for (const node of nodes) ctx.capability(node.runner, "onRelease", "onRelease");
        const key = ctx.key("handoff");
        // Two instances: the waiter hears of the release only through the nodes' announcements.
        const holder = ctx.redlock(3);
        const lock = await holder.acquire([key], HOLD_MS);
        const watched = watchSubscriptions(nodes.map((node) => node.runner));
        const waiter = new Redlock(watched.runners, {
          retryDelay: RETRY_DELAY_MS,
          retryJitter: 0,
          retryCount: 2,
          nodeTimeout: SETTLE_MS,
        });
        const controller = new AbortController();
        const waiting = settle(waiter.acquire([key], 5000, { signal: controller.signal }));
        try {
          await within(
            watched.active,
            SETTLE_MS,
            "the waiter's onRelease() calls did not all resolve: its subscriptions never became active",
          );
          expect((await lock.release()).outcome).toBe("released");
          const outcome = await within(
            waiting,
            WAKE_MS,
            `the waiter did not get the lock soon after the release (it retries every ${RETRY_DELAY_MS} ms; the holder's TTL was ${HOLD_MS} ms): announcements do not reach onRelease() listeners`,
          );
          if (outcome.status === "rejected") throw outcome.error;
          expect((await outcome.value.release()).outcome).toBe("released");
        } finally {
          controller.abort();
          await waiting;
          await lock.release().catch(() => {});
          await waiter.idle();
        }
      },
    );
  });
}

/** A runner other than the node's own, where the target can open one; else the node's own. */
async function otherRunner(ctx: SuiteContext, node: ConformanceNode): Promise<ScriptRunner> {
  if (ctx.target.unavailable?.openRunner || !node.openRunner) return node.runner;
  return (await ctx.openRunner(node)).runner;
}

/** Take `key` and release it through `runner`; resolves with the release script's reply. */
async function holdAndRelease(runner: ScriptRunner, key: string): Promise<number[]> {
  const value = `announce-${Math.random().toString(36).slice(2)}`;
  const taken = await runner.run(acquireScript, [key], [value, HOLD_MS]);
  if (taken !== 1) throw new Error(`could not take ${key} to release it (reply ${String(taken)})`);
  return (await runner.run(releaseScript, [key], [value])) as number[];
}

/**
 * `runners` whose `onRelease` calls are counted: `active` resolves once each runner's has
 * resolved, that is once every node confirmed its subscription.
 */
function watchSubscriptions(runners: readonly ScriptRunner[]) {
  let confirmed = 0;
  let done = () => {};
  const active = new Promise<void>((resolve) => {
    done = resolve;
  });
  const watched = runners.map(
    (runner): ScriptRunner => ({
      ...(runner.name === undefined ? {} : { name: runner.name }),
      run: (script, keys, args, options) => runner.run(script, keys, args, options),
      onRelease: async (key, listener) => {
        const off = await (runner.onRelease as NonNullable<ScriptRunner["onRelease"]>)(
          key,
          listener,
        );
        if (++confirmed >= runners.length) done();
        return off;
      },
    }),
  );
  return { runners: watched, active };
}
