import { ScriptNotSupportedError } from "../src";
import { defaultScripts, waitingLineKey } from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";

describe("MemoryRunner", () => {
  const { acquireScript, extendScript, releaseScript } = defaultScripts;

  test("models the script cache: NOSCRIPT once, then cached until flushed", async () => {
    const runner = new MemoryRunner({ clock: new FakeClock() });
    await runner.run(acquireScript, ["a"], ["v", 100]);
    await runner.run(acquireScript, ["b"], ["v", 100]);
    expect(runner.stats.noscript).toBe(1);
    runner.flushScripts();
    await runner.run(acquireScript, ["c"], ["v", 100]);
    expect(runner.stats.noscript).toBe(2);
  });

  test("replies like the Lua scripts", async () => {
    const clock = new FakeClock();
    const runner = new MemoryRunner({ clock });
    expect(await runner.run(acquireScript, ["a", "b"], ["v", 1000])).toBe(2);
    expect(await runner.run(extendScript, ["a", "b"], ["w", 1000])).toBe(0);
    expect(await runner.run(extendScript, ["a", "b"], ["v", 5000])).toBe(2);
    expect(runner.pttl("a")).toBe(5000);
    runner.set("c", "other");
    expect(await runner.run(releaseScript, ["a", "c", "d"], ["v"])).toEqual([1, 1, 0]);
  });

  test("announces a release with waiting lines only when somebody waits in line", async () => {
    const runner = new MemoryRunner({ clock: new FakeClock() });
    const line = waitingLineKey("k");
    let heard = 0;
    await runner.onRelease?.("k", () => heard++);
    const place = (id: string) => `${id} 60000 100 0 0`;
    const acquire = (value: string, id: string) =>
      runner.run(acquireScript, ["k", line], [value, 10_000, place(id)]);
    expect(await acquire("h", "p1")).toBe(1);
    // Nobody waits: the reply is the count, and nothing is announced.
    expect(await runner.run(releaseScript, ["k", line], ["h", 1])).toBe(1);
    expect(heard).toBe(0);
    expect(await acquire("h", "p1")).toBe(1);
    // Somebody waits in line: the release gives the turn and is announced.
    expect(await acquire("w", "p2")).toBeLessThan(0);
    expect(await runner.run(releaseScript, ["k", line], ["h", 1])).toEqual([1, 0, 1]);
    expect(heard).toBe(1);
    // Without lines, every release is announced.
    expect(await acquire("w", "p2")).toBe(1);
    expect(await runner.run(releaseScript, ["k"], ["w"])).toEqual([1, 0, 1]);
    expect(heard).toBe(2);
  });

  test("lost replies run the script and then fail", async () => {
    const runner = new MemoryRunner({ clock: new FakeClock() });
    runner.faults.lostReplies = 1;
    await expect(runner.run(acquireScript, ["a"], ["v", 1000])).rejects.toThrow(
      /lost before the reply/,
    );
    expect(runner.get("a")).toBe("v");
    expect(await runner.run(acquireScript, ["a"], ["v", 1000])).toBe(1);
  });

  test("custom scripts are refused", async () => {
    const runner = new MemoryRunner();
    await expect(
      runner.run(
        { name: "acquire", source: "return 1", sha1: "e0e1f9fabfa8d3a0c8f3d1d1b6d8e2c1a2b3c4d5" },
        [],
        [],
      ),
    ).rejects.toBeInstanceOf(ScriptNotSupportedError);
  });
});
