import { defaultScripts } from "@redlock/core/adapter";
import { describeError, type SuiteContext } from "./context";
import type { ConformanceCluster } from "./types";

const { acquireScript, extendScript, releaseScript } = defaultScripts;

/**
 * A runner over a Redis Cluster: each call goes to the master serving its keys' slot, keys that
 * share a hash tag are locked together, `NOSCRIPT` falls back to `EVAL` on every master, and keys
 * in different slots fail with a typed error instead of a partial write.
 */
export function clusterGroup(ctx: SuiteContext): void {
  const { describe, expect, beforeAll, afterAll, beforeEach } = ctx.api;
  let current: ConformanceCluster | undefined;
  const cluster = (): ConformanceCluster => {
    if (!current) throw new Error(`${ctx.target.name}: the cluster was not set up`);
    return current;
  };

  describe("cluster routing", () => {
    const target = ctx.target.cluster;
    if (target && ctx.skipReason("cluster", ["cluster"]) === undefined) {
      beforeAll(async () => {
        current = await target.setup();
      }, 120_000);
      afterAll(() => target.teardown(), 120_000);
      beforeEach(() => cluster().flushAll(), 30_000);
    }

    ctx.test(
      "cluster",
      "keys sharing a hash tag are locked together on the master serving their slot",
      ["cluster"],
      async () => {
        const c = cluster();
        const runner = c.runner;
        const tag = `{${ctx.key("tag")}}`;
        const keys = [`${tag}:a`, `${tag}:b`];
        expect(await runner.run(acquireScript, keys, ["v", 30_000])).toBe(2);
        for (const key of keys) expect(await c.get(key)).toBe("v");
        expect(await runner.run(extendScript, keys, ["v", 60_000])).toBe(2);
        const reply = (await runner.run(releaseScript, keys, ["v"])) as number[];
        expect(reply.slice(0, 2)).toEqual([2, 0]);
        for (const key of keys) expect(await c.get(key)).toBe(null);
      },
    );

    ctx.test("cluster", "calls reach every master", ["cluster"], async () => {
      const c = cluster();
      const runner = c.runner;
      for (const key of await keysOnEveryMaster(ctx, c)) {
        expect(await runner.run(acquireScript, [key], ["v", 30_000])).toBe(1);
        expect(await c.get(key)).toBe("v");
        const reply = (await runner.run(releaseScript, [key], ["v"])) as number[];
        expect(reply.slice(0, 2)).toEqual([1, 0]);
      }
    });

    ctx.test(
      "cluster",
      "after SCRIPT FLUSH on every master, calls fall back to EVAL on each",
      ["cluster"],
      async () => {
        const c = cluster();
        const runner = c.runner;
        const keys = await keysOnEveryMaster(ctx, c);
        for (const key of keys) await runner.run(acquireScript, [key], ["warm", 30_000]);
        await c.flushScripts();
        for (const key of keys) {
          expect(await runner.run(releaseScript, [key], ["warm"])).toBeDefined();
          expect(await runner.run(acquireScript, [key], ["v", 30_000])).toBe(1);
          expect(await c.get(key)).toBe("v");
        }
      },
    );

    ctx.test(
      "cluster",
      "keys in different hash slots fail with a NodeError carrying CROSSSLOT, and nothing is written",
      ["cluster"],
      async () => {
        const c = cluster();
        const runner = c.runner;
        const keys = (await keysOnEveryMaster(ctx, c)).slice(0, 2);
        const error = await runner.run(acquireScript, keys, ["v", 30_000]).then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string },
        );
        expect(error).toBeDefined();
        expect(String(error?.code)).toMatch(/^NODE_ERROR$/);
        expect(error?.message.startsWith(`[${runner.name}]`)).toBe(true);
        expect(describeError(error)).toMatch(/cross.?slot/i);
        for (const key of keys) expect(await c.get(key)).toBe(null);
      },
    );
  });
}

/** One fresh key per master, in master order (at least two masters are needed). */
async function keysOnEveryMaster(ctx: SuiteContext, cluster: ConformanceCluster) {
  if (cluster.masters < 2) {
    throw new Error(`${ctx.target.name}: the cluster has ${cluster.masters} master(s), needs 2`);
  }
  const keys: (string | undefined)[] = Array.from({ length: cluster.masters });
  for (let i = 0; i < 64 * cluster.masters && keys.includes(undefined); i++) {
    const key = ctx.key(`route-${i}`);
    const master = await cluster.masterOf(key);
    keys[master] ??= key;
  }
  if (keys.includes(undefined)) {
    throw new Error(`${ctx.target.name}: some master serves none of the keys tried`);
  }
  return keys as string[];
}
