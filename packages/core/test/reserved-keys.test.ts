import {
  InvalidArgumentError,
  Lock,
  type LockScript,
  Redlock,
  type RunOptions,
  type ScriptRunner,
} from "../src";
import { fenceKey } from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";
import { spyRunner } from "./helpers";

/** Records the keys of every call and forwards it to a MemoryRunner. */
class Recorder implements ScriptRunner {
  readonly calls: { script: LockScript["name"]; keys: string[] }[] = [];
  readonly name: string;
  constructor(readonly node: MemoryRunner) {
    this.name = node.name;
  }
  run(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    options?: RunOptions,
  ): Promise<unknown> {
    this.calls.push({ script: script.name, keys: [...keys] });
    return this.node.run(script, keys, args, options);
  }
}

function recorded(options: ConstructorParameters<typeof Redlock>[1] = {}) {
  const clock = new FakeClock();
  const nodes = [0, 1, 2].map((i) => new MemoryRunner({ name: `n${i}`, clock }));
  const recorders = nodes.map((node) => new Recorder(node));
  const redlock = new Redlock(recorders, { clock, retryJitter: 0, minDuration: 1, ...options });
  return { clock, nodes, recorders, redlock };
}

/** The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

// Every key the library writes besides locks lives under `<keyPrefix>__redlock__:`, and no
// resource name can reach that namespace.
describe("reserved keys", () => {
  test.each([
    "__redlock__:boot",
    "__redlock__:fence:invoice",
    "app:__redlock__:boot",
    "__redlock__:",
  ])("a resource named %j is refused before any I/O", async (name) => {
    const spy = spyRunner();
    const redlock = new Redlock([spy], { restartGuard: { period: 1000 } });
    for (const call of [
      () => redlock.acquire([name], 1000),
      () => redlock.acquire(["ok", name], 1000, { fencing: true }),
      () => redlock.using(name, 1000, async () => "ran"),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: "INVALID_ARGUMENT", reason: "RESERVED_RESOURCE" });
      expect((error as Error).message).toContain('"__redlock__:"');
    }
    const lock = new Lock(redlock, [name], "v", [], Date.now() + 1000);
    await expect(redlock.release(lock)).rejects.toMatchObject({ reason: "INVALID_LOCK" });
    expect(spy.calls).toBe(0);
  });

  test("names ending in :fence are ordinary resources again, with counters of their own", async () => {
    const { clock, nodes, redlock } = recorded();
    const plain = await clock.settle(redlock.acquire(["x"], 1000, { fencing: true }));
    const suffixed = await clock.settle(redlock.acquire(["x:fence"], 1000, { fencing: true }));
    expect([plain.fencingToken, suffixed.fencingToken]).toEqual([1, 1]);
    for (const node of nodes) {
      expect(node.get("x:fence")).toBe(suffixed.value);
      expect(node.get("__redlock__:fence:x")).toBe("1");
      expect(node.get("__redlock__:fence:x:fence")).toBe("1");
    }
  });

  test("fence counters, the marker and waiting lines are under <keyPrefix>__redlock__:", async () => {
    const { clock, nodes, recorders, redlock } = recorded({
      keyPrefix: "app:",
      restartGuard: { period: 100 },
    });
    await clock.settle(redlock.acquire(["warm"], 50).catch(() => undefined)); // plants the markers
    await clock.advance(100);
    for (const r of recorders) r.calls.length = 0;
    const lock = await clock.settle(redlock.acquire(["r", "s"], 1000, { fencing: true }));
    for (const recorder of recorders) {
      const calls = recorder.calls.filter((call) => call.script !== "release");
      expect(calls).toEqual([
        {
          script: "acquire",
          keys: [
            "app:r",
            "app:s",
            "app:__redlock__:fence:r",
            "app:__redlock__:fence:s",
            "app:__redlock__:boot",
            "app:__redlock__:line:{app:r}",
            "app:__redlock__:line:{app:s}",
          ],
        },
        { script: "fence", keys: ["app:__redlock__:fence:r", "app:__redlock__:fence:s"] },
      ]);
    }
    expect(fenceKey("r", "app:")).toBe("app:__redlock__:fence:r");
    for (const node of nodes) {
      expect(node.get("app:__redlock__:boot")).toMatch(/^\d+$/);
      expect(node.get("app:__redlock__:fence:r")).toBe(String(lock.fencingToken));
      expect(node.keys().filter((key) => !key.startsWith("app:"))).toEqual([]);
    }
  });

  test("a markerKey in the namespace is used under keyPrefix", async () => {
    const { clock, nodes, redlock } = recorded({
      keyPrefix: "p:",
      restartGuard: { period: 100, markerKey: "__redlock__:boot-eu" },
    });
    await clock.settle(redlock.acquire(["a"], 50).catch(() => undefined));
    for (const node of nodes) expect(node.get("p:__redlock__:boot-eu")).toMatch(/^\d+$/);
  });

  test.each(["redlock:boot", "boot", "__redlock__:", "__redlock__:fence:x", "x__redlock__:boot"])(
    "markerKey %j outside the namespace (or on a fence counter) is refused",
    (markerKey) => {
      expect(
        () => new Redlock([spyRunner()], { restartGuard: { period: 100, markerKey } }),
      ).toThrow(
        expect.objectContaining({
          name: "InvalidArgumentError",
          reason: "INVALID_SETTING",
          argument: "settings.restartGuard.markerKey",
        }),
      );
    },
  );

  test("a keyPrefix containing the namespace is refused", () => {
    for (const keyPrefix of ["__redlock__:", "app:__redlock__:"]) {
      expect(() => new Redlock([spyRunner()], { keyPrefix })).toThrow(
        expect.objectContaining({ reason: "INVALID_SETTING", argument: "settings.keyPrefix" }),
      );
    }
  });

  test("a {hash tag} in the name or the prefix puts the counter in the lock key's slot", () => {
    const cases: [string, string][] = [
      ["{user:1}:profile", ""],
      ["{user:1}:profile", "app:"],
      ["orders:{eu}", "app:"],
      ["plain", "{tenant}:"],
      ["{a}{b}", "x:"],
    ];
    for (const [name, prefix] of cases) {
      expect(hashTag(fenceKey(name, prefix))).toBe(hashTag(prefix + name));
    }
  });
});
