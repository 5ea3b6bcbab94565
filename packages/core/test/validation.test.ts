import { InvalidArgumentError, Lock, MAX_DURATION, Redlock, type ScriptRunner } from "../src";
import { lockKeys, spyRunner } from "./helpers";

// Every invalid input is refused with a typed error before anything reaches a runner.
describe("input validation", () => {
  const spy = spyRunner();
  const redlock = new Redlock([spy]);
  const lock = new Lock(redlock, ["a"], "v", [], Date.now() + 10_000);

  // biome-ignore format: one case per line reads as a table
  const cases: [string, () => Promise<unknown>, string, string][] = [
    ["no resources", () => redlock.acquire([], 1000), "NO_RESOURCES", "resources"],
    ["resources a number", () => redlock.acquire(42 as never, 1000), "INVALID_RESOURCES", "resources"],
    ["resources null", () => redlock.acquire(null as never, 1000), "INVALID_RESOURCES", "resources"],
    ["a non-string resource", () => redlock.acquire(["a", 1 as never], 1000), "INVALID_RESOURCES", "resources[1]"],
    ["an empty resource name", () => redlock.acquire(["a", ""], 1000), "EMPTY_RESOURCE", "resources[1]"],
    ["an empty string resource", () => redlock.acquire("", 1000), "EMPTY_RESOURCE", "resources[0]"],
    ["duplicate resources", () => redlock.acquire(["a", "b", "a"], 1000), "DUPLICATE_RESOURCE", "resources[2]"],
    ["duration 0", () => redlock.acquire(["a"], 0), "INVALID_DURATION", "duration"],
    ["negative duration", () => redlock.acquire(["a"], -5), "INVALID_DURATION", "duration"],
    ["fractional duration", () => redlock.acquire(["a"], 10.5), "INVALID_DURATION", "duration"],
    ["NaN duration", () => redlock.acquire(["a"], Number.NaN), "INVALID_DURATION", "duration"],
    ["Infinity duration", () => redlock.acquire(["a"], Number.POSITIVE_INFINITY), "INVALID_DURATION", "duration"],
    ["string duration", () => redlock.acquire(["a"], "1000" as never), "INVALID_DURATION", "duration"],
    ["duration above the maximum", () => redlock.acquire(["a"], MAX_DURATION + 1), "INVALID_DURATION", "duration"],
    ["duration within the drift", () => redlock.acquire(["a"], 2), "INVALID_DURATION", "duration"],
    ["negative retryCount", () => redlock.acquire(["a"], 1000, { retryCount: -2 }), "INVALID_SETTING", "settings.retryCount"],
    ["fractional retryCount", () => redlock.acquire(["a"], 1000, { retryCount: 1.5 }), "INVALID_SETTING", "settings.retryCount"],
    ["NaN retryCount", () => redlock.acquire(["a"], 1000, { retryCount: Number.NaN }), "INVALID_SETTING", "settings.retryCount"],
    ["negative retryDelay", () => redlock.acquire(["a"], 1000, { retryDelay: -1 }), "INVALID_SETTING", "settings.retryDelay"],
    ["NaN retryJitter", () => redlock.acquire(["a"], 1000, { retryJitter: Number.NaN }), "INVALID_SETTING", "settings.retryJitter"],
    ["driftFactor 1", () => redlock.acquire(["a"], 1000, { driftFactor: 1 }), "INVALID_SETTING", "settings.driftFactor"],
    ["negative driftFactor", () => redlock.acquire(["a"], 1000, { driftFactor: -0.1 }), "INVALID_SETTING", "settings.driftFactor"],
    ["nodeTimeout 0", () => redlock.acquire(["a"], 1000, { nodeTimeout: 0 }), "INVALID_SETTING", "settings.nodeTimeout"],
    ["acquireTimeout -1", () => redlock.acquire(["a"], 1000, { acquireTimeout: -1 }), "INVALID_SETTING", "settings.acquireTimeout"],
    ["string setting", () => redlock.acquire(["a"], 1000, { retryDelay: "5" as never }), "INVALID_SETTING", "settings.retryDelay"],
    ["settings not an object", () => redlock.acquire(["a"], 1000, 5 as never), "INVALID_SETTING", "settings"],
    ["signal not a signal", () => redlock.acquire(["a"], 1000, { signal: {} as never }), "INVALID_SIGNAL", "settings.signal"],
    ["threshold too close to duration", () => redlock.using(["a"], 500, { automaticExtensionThreshold: 450 }, async () => 1), "INVALID_THRESHOLD", "automaticExtensionThreshold"],
    ["using without routine", () => redlock.using(["a"], 1000, {} as never), "INVALID_ROUTINE", "routine"],
    ["using with negative maxExtensions", () => redlock.using(["a"], 1000, { maxExtensions: -1 }, async () => 1), "INVALID_SETTING", "settings.maxExtensions"],
    ["using with onLockLost not a function", () => redlock.using(["a"], 1000, { onLockLost: 1 as never }, async () => 1), "INVALID_SETTING", "settings.onLockLost"],
    ["release of a non-lock", () => redlock.release({} as never), "INVALID_LOCK", "lock"],
    ["extend of a non-lock", () => redlock.extend(null as never, 1000), "INVALID_LOCK", "lock"],
    ["extend with a bad duration", () => redlock.extend(lock, -1), "INVALID_DURATION", "duration"],
    ["release with a bad setting", () => redlock.release(lock, { nodeTimeout: -1 }), "INVALID_SETTING", "settings.nodeTimeout"],
  ];

  test.each(cases)("%s", async (_label, call, reason, argument) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", reason, argument });
    expect((error as Error).message).toMatch(/^Invalid /);
    expect(spy.calls).toBe(0);
  });

  test.each([
    [5, "did you mean 5000?"],
    [30, "did you mean 30000?"],
  ])("a duration of %i ms (seconds passed as milliseconds) is refused", async (duration, hint) => {
    const error = await redlock.acquire(["a"], duration).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "INVALID_DURATION", argument: "duration" });
    expect((error as Error).message).toContain(hint);
    await expect(redlock.using(["a"], duration, async () => 1)).rejects.toMatchObject({
      reason: "INVALID_DURATION",
    });
    expect(spy.calls).toBe(0);
  });

  test("minDuration lowers the floor", async () => {
    const lenient = new Redlock([spyRunner()], { minDuration: 5 });
    expect(lenient.minDuration).toBe(5);
    await expect(lenient.acquire(["a"], 4)).rejects.toMatchObject({ reason: "INVALID_DURATION" });
    expect(() => new Redlock([spyRunner()], { minDuration: 0 })).toThrow(InvalidArgumentError);
  });

  test.each([
    ["retries", "retryCount"],
    ["retryAttempts", "retryCount"],
    ["timeout", "acquireTimeout"],
    ["retryDelayMs", "retryDelay"],
    ["keyprefix", "keyPrefix"],
  ])("an unknown setting %s is refused, naming %s", async (key, closest) => {
    const perCall = await redlock.acquire(["a"], 1000, { [key]: 3 } as never).catch((e) => e);
    expect(perCall).toMatchObject({ reason: "UNKNOWN_SETTING", argument: `settings.${key}` });
    expect((perCall as Error).message).toContain(`did you mean ${closest}?`);
    expect(() => new Redlock([spyRunner()], { [key]: 3 } as never)).toThrow(
      expect.objectContaining({ reason: "UNKNOWN_SETTING" }),
    );
    expect(spy.calls).toBe(0);
  });

  test("using() with its settings after the routine is refused, naming the signature", async () => {
    const call = () =>
      (redlock.using as (...args: unknown[]) => Promise<unknown>)(["a"], 1000, async () => 1, {
        retryCount: -1,
        maxHoldTime: 60_000,
      });
    const error = await Promise.resolve()
      .then(call)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "INVALID_ROUTINE" });
    expect((error as Error).message).toContain("using(resources, duration, settings, routine)");
    expect(spy.calls).toBe(0);
  });

  test("a failed extend leaves the lock it was given untouched", async () => {
    const expiration = lock.expiration;
    await expect(redlock.extend(lock, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(lock.expiration).toBe(expiration);
    expect(lock.remainingTime()).toBeGreaterThan(0);
  });

  const constructorCases: [string, () => unknown, string][] = [
    ["no runners", () => new Redlock([]), "NO_RUNNERS"],
    ["runners not iterable", () => new Redlock(5 as never), "NO_RUNNERS"],
    [
      "a client that is not a runner",
      () => new Redlock([{ evalsha() {} } as never]),
      "INVALID_RUNNER",
    ],
    ["null runner", () => new Redlock([null as never]), "INVALID_RUNNER"],
    ["bad default setting", () => new Redlock([spy], { driftFactor: 2 }), "INVALID_SETTING"],
    ["bad key prefix", () => new Redlock([spy], { keyPrefix: 1 as never }), "INVALID_SETTING"],
    [
      "bad script override",
      () => new Redlock([spy], {}, { acquireScript: 5 as never }),
      "INVALID_SCRIPT",
    ],
    [
      "transformer returning nothing",
      () => new Redlock([spy], {}, { releaseScript: () => "" }),
      "INVALID_SCRIPT",
    ],
  ];

  test.each(constructorCases)("constructor: %s", (_label, make, reason) => {
    expect(make).toThrow(InvalidArgumentError);
    try {
      make();
    } catch (error) {
      expect(error).toMatchObject({ code: "INVALID_ARGUMENT", reason });
    }
  });

  test("the same runner twice counts once", () => {
    const runner: ScriptRunner = { run: async () => 1 };
    expect(new Redlock([runner, runner]).runners.size).toBe(1);
  });

  test("a single string resource is accepted as one resource (node-redlock #297)", async () => {
    const runner: ScriptRunner & { keys?: readonly string[] } = {
      run: async (_script, keys, args) => {
        runner.keys = keys.slice(0, lockKeys(keys, args));
        return lockKeys(keys, args);
      },
    };
    const lock = await new Redlock([runner]).acquire("report", 1000);
    expect(lock.resources).toEqual(["report"]);
    expect(runner.keys).toEqual(["report"]);
  });
});
