import { defaultScripts } from "@redlock/core/adapter";
import type { SuiteContext } from "./context";

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
