import { defaultScripts, waitingLineKey } from "@redlock/core/adapter";
import { describeError, type SuiteContext, settle } from "./context";

const { acquireScript, extendScript, releaseScript } = defaultScripts;

/** Scripts run through the runner and come back decoded as core expects. */
export function scriptsGroup(ctx: SuiteContext): void {
  const { describe, expect } = ctx.api;

  describe("script round trip and reply decoding", () => {
    ctx.test(
      "scripts",
      "acquire, extend and release reply with integers and integer arrays",
      [],
      async () => {
        const [node] = ctx.take(1);
        const runner = node!.runner;
        const a = ctx.key("a");
        const b = ctx.key("b");
        expect(await runner.run(acquireScript, [a, b], ["v1", 10_000])).toBe(2);
        expect(await runner.run(acquireScript, [a, b], ["v1", 10_000])).toBe(2);
        const conflict = (await runner.run(acquireScript, [a], ["v2", 10_000])) as number;
        expect(typeof conflict).toBe("number");
        expect(conflict < 0 && conflict >= -10_000).toBe(true);
        expect(await runner.run(extendScript, [a, b], ["v1", 20_000])).toBe(2);
        expect(await node!.pttl(a)).toBeGreaterThan(10_000);
        expect(await runner.run(extendScript, [a], ["v2", 20_000])).toBe(0);
        expect(await runner.run(releaseScript, [a, b, ctx.key("c")], ["v1"])).toEqual([2, 1, 0]);
        expect(await node!.get(a)).toBe(null);
      },
    );

    ctx.test(
      "scripts",
      "values made of digits stay strings on the node (no JSON decoding of tokens)",
      [],
      async () => {
        const [node] = ctx.take(1);
        const key = ctx.key("digits");
        const value = "12345678901234567890123456789012";
        expect(await node!.runner.run(acquireScript, [key], [value, 5000])).toBe(1);
        expect(await node!.get(key)).toBe(value);
        // Deleted, missing, and how many subscribers the announcement reached (none here).
        expect(await node!.runner.run(releaseScript, [key], [value])).toEqual([1, 0, 0]);
      },
    );

    ctx.test(
      "scripts",
      "resource names with quotes, newlines, NUL, Lua metacharacters and unicode are plain keys",
      [],
      async () => {
        const [node] = ctx.take(1);
        const names = [
          'q"uote',
          "new\nline",
          "nul\u0000byte",
          "lua]]..%s%d",
          "ünï©ødé ✓",
          "x".repeat(4096),
        ];
        const keys = names.map((name) => ctx.key(name));
        expect(await node!.runner.run(acquireScript, keys, ["v", 5000])).toBe(keys.length);
        for (const key of keys) expect(await node!.get(key)).toBe("v");
        expect(await node!.runner.run(releaseScript, keys, ["v"])).toEqual([keys.length, 0, 0]);
      },
    );
  });

  describe("waiting lines", () => {
    ctx.test(
      "scripts",
      "a release gives the turn on the free key to the longest waiter in line, for its window",
      [],
      async () => {
        const [node] = ctx.take(1);
        const runner = node!.runner;
        const key = ctx.key("line");
        const keys = [key, waitingLineKey(key)];
        // value, PX, and the place in line: waiter id ("" = not in line), check-in period (ms),
        // window (ms), more waiters with this id (0/1), ms waited
        const as = (value: string, id = "", window = 60_000) => [
          value,
          10_000,
          `${id} 60000 ${window} 0 0`,
        ];
        const acquire = (value: string, id?: string, window?: number) =>
          runner.run(acquireScript, keys, as(value, id, window)) as Promise<number>;
        expect(await acquire("h")).toBe(1);
        // Two waiters join the line, w1 first; the key's TTL is their reply.
        const ttl = await acquire("v1", "w1");
        expect(ttl < 0 && ttl >= -10_000).toBe(true);
        expect(await acquire("v2", "w2")).toBeLessThanOrEqual(-1);
        expect(await runner.run(releaseScript, keys, ["h", 1])).toBe(1);
        // The key is free, but it is w1's turn: others are refused with the turn's time left.
        const turn = await acquire("v2", "w2");
        expect(turn < 0 && turn >= -60_000).toBe(true);
        expect(await acquire("n")).toBeLessThanOrEqual(-1);
        expect(await node!.get(key)).toBe(null);
        expect(await acquire("v1", "w1")).toBe(1);
        expect(await runner.run(releaseScript, keys, ["v1", 1])).toBe(1);
        // w1 left the line with the key: now it is w2's turn.
        expect(await acquire("n")).toBeLessThanOrEqual(-1);
        expect(await acquire("v2", "w2", 1)).toBe(1);
        // w2 asked for a 1 ms turn next time.
        expect(await acquire("v3", "w3", 1)).toBeLessThanOrEqual(-1);
        expect(await runner.run(releaseScript, keys, ["v2", 1])).toBe(1);
        // w3's turn lasts 1 ms; once it has passed, the key is anyone's.
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await acquire("n")).toBe(1);
        // A waiter that cannot hear releases ("*") keeps no place and is not held back by turns.
        expect(await acquire("d", "*")).toBeLessThanOrEqual(-1);
        expect(await acquire("v4", "w4")).toBeLessThanOrEqual(-1);
        expect(await runner.run(releaseScript, keys, ["n", 1])).toBe(1);
        expect(await acquire("v5", "w5")).toBeLessThanOrEqual(-1);
        expect(await acquire("d", "*")).toBe(1);
        expect(await runner.run(releaseScript, keys, ["d", 1])).toBe(1);
      },
    );

    ctx.test(
      "scripts",
      "a place in line that does not parse is an error reply, and nothing is written",
      [],
      async () => {
        const [node] = ctx.take(1);
        const runner = node!.runner;
        const key = ctx.key("bad-place");
        const keys = [key, waitingLineKey(key)];
        for (const place of ["w1 60000 1.5 0 0", "w1 60000 110", "w1 60000 110 2 0"]) {
          const outcome = await settle(runner.run(acquireScript, keys, ["v", 10_000, place]));
          expect(outcome.status).toBe("rejected");
          const error = outcome.status === "rejected" ? outcome.error : undefined;
          expect(describeError(error)).toMatch("REDLOCK_BAD_ARGUMENT");
        }
        expect(await node!.get(key)).toBe(null);
        expect(await runner.run(acquireScript, keys, ["v", 10_000, "w1 60000 110 0 0"])).toBe(1);
        expect(await runner.run(releaseScript, keys, ["v", 1])).toBe(1);
      },
    );
  });

  describe("NOSCRIPT after SCRIPT FLUSH", () => {
    ctx.test(
      "scripts",
      "falls back to sending the script source, then works from the cache again",
      [],
      async () => {
        const [node] = ctx.take(1);
        const key = ctx.key("noscript");
        await node!.flushScripts();
        expect(await node!.runner.run(acquireScript, [key], ["v", 5000])).toBe(1);
        await node!.flushScripts();
        expect(await node!.runner.run(releaseScript, [key], ["v"])).toEqual([1, 0, 0]);
        expect(await node!.runner.run(acquireScript, [key], ["v", 5000])).toBe(1);
      },
    );
  });
}
