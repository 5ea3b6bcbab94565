import { defaultSettings, ExecutionError, Lock, Redlock, ResourceLockedError } from "../src";
import { setup } from "./helpers";

// The node-redlock v5 surface a migrating user relies on.
describe("node-redlock v5 parity", () => {
  test("constructor, settings defaults and scripts", () => {
    const { runners } = setup(3);
    const redlock = new Redlock(runners, { retryCount: 3 }, { extendScript: (s) => s });
    expect(redlock.settings).toMatchObject({
      driftFactor: 0.01,
      retryCount: 3,
      retryDelay: 200,
      retryJitter: 100,
      automaticExtensionThreshold: 500,
    });
    expect(defaultSettings.retryCount).toBe(10);
    expect(Object.isFrozen(defaultSettings)).toBe(true);
    for (const key of ["acquireScript", "extendScript", "releaseScript"] as const) {
      expect(typeof redlock.scripts[key].source).toBe("string");
      expect(redlock.scripts[key].sha1).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  test("methods, Lock fields and error hierarchy", async () => {
    const { clock, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 }));
    expect(lock).toBeInstanceOf(Lock);
    expect(lock.redlock).toBe(redlock);
    expect(Array.isArray(lock.resources)).toBe(true);
    expect(typeof lock.value).toBe("string");
    expect(typeof lock.expiration).toBe("number");
    expect(lock.attempts).toHaveLength(1);
    const stats = await lock.attempts[0];
    expect(stats?.votesFor).toBeInstanceOf(Set);
    expect(stats?.votesAgainst).toBeInstanceOf(Map);
    const extended = await clock.settle(redlock.extend(lock, 1000));
    const error = await clock
      .settle(redlock.acquire(["a"], 1000, { retryCount: 0 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(error).toBeInstanceOf(ExecutionError);
    const result = await clock.settle(redlock.release(extended));
    expect(Array.isArray(result.attempts)).toBe(true);
    const value = await clock.settle(
      redlock.using(["a"], 1000, async (signal) => (signal.aborted ? 0 : 1)),
    );
    expect(value).toBe(1);
    await redlock.quit();
  });

  test("the acquire script respects keys written by node-redlock, and its scripts respect ours", async () => {
    // node-redlock's acquire refuses any existing key; ours refuses any key holding another value.
    const { clock, runners, redlock } = setup(1);
    runners[0]?.set("a", "value-from-node-redlock");
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
  });
});
