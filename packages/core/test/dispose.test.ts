import { resolve } from "node:path";
import { build } from "esbuild";

type Core = typeof import("../src") & typeof import("../src/testing");

/**
 * Core and its testing entry bundled from source and run with a `Symbol` that has no
 * `asyncDispose`, as on Node 20 before 20.4.
 */
async function loadWithoutAsyncDispose(): Promise<Core> {
  const src = resolve(__dirname, "..", "src");
  const result = await build({
    stdin: {
      contents: 'export * from "./index"; export * from "./testing/index";',
      resolveDir: src,
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "cjs",
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no bundle");
  const symbol = new Proxy(Symbol, {
    get: (target, key) => (key === "asyncDispose" ? undefined : Reflect.get(target, key)),
  });
  const module = { exports: {} as Core };
  new Function("module", "exports", "Symbol", file.text)(module, module.exports, symbol);
  return module.exports;
}

test("without Symbol.asyncDispose, a lock is disposed through Node's symbol", async () => {
  const core = await loadWithoutAsyncDispose();
  const keys = Reflect.ownKeys(core.Lock.prototype);
  expect(keys).not.toContain("undefined");
  const dispose = Symbol.for("nodejs.asyncDispose");
  expect(keys).toContain(dispose);

  const runner = new core.MemoryRunner();
  const redlock = new core.Redlock([runner], { retryCount: 0 });
  const lock = await redlock.acquire(["a"], 1000);
  expect(runner.get("a")).toBe(lock.value);
  await (lock as unknown as Record<symbol, () => Promise<void>>)[dispose]?.();
  expect(runner.keys()).toEqual([]);
});
