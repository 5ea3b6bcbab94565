import {
  AbortedError,
  ExecutionError,
  LockExpiredError,
  type NodeError,
  QuorumUnreachableError,
  Redlock,
  ResourceLockedError,
  type ScriptRunner,
  UnexpectedReplyError,
} from "../src";
import { FakeClock, MemoryRunner } from "../src/testing";
import { CPU_BOUND_TIMEOUT, lockKeys, setup } from "./helpers";

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );

describe.each([1, 3, 5])("lifecycle on %i node(s)", (n) => {
  test("acquire, extend, release", async () => {
    const { clock, runners, redlock } = setup(n);
    const lock = await clock.settle(redlock.acquire(["a", "b"], 1000));
    for (const runner of runners) {
      expect(runner.get("a")).toBe(lock.value);
      expect(runner.get("b")).toBe(lock.value);
    }
    expect(lock.resources).toEqual(["a", "b"]);
    expect(lock.value).toMatch(/^[0-9a-f]{32}$/);
    expect(lock.remainingTime()).toBe(1000 - 12);
    expect(lock.expiration).toBe(clock.wallNow() + 988);

    await clock.advance(500);
    const extended = await clock.settle(lock.extend(2000));
    expect(lock.expiration).toBe(0);
    expect(extended.remainingTime()).toBe(2000 - 22);
    expect(runners[0]?.pttl("a")).toBe(2000);

    const result = await clock.settle(extended.release());
    expect(result.outcome).toBe("released");
    expect(result.nodes).toEqual({ released: n, expired: 0, notHeld: 0, failed: 0 });
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });

  test("keys expire on their own", async () => {
    const { clock, runners, redlock } = setup(n);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    await clock.advance(999);
    expect(runners[0]?.get("a")).toBe(lock.value);
    await clock.advance(1);
    expect(runners[0]?.get("a")).toBeUndefined();
    expect(lock.remainingTime()).toBe(0);
  });
});

describe("quorum", () => {
  test("another holder blocks with ResourceLockedError, an ExecutionError with attempts", async () => {
    const { clock, runners, redlock } = setup(3, {}, { pubsub: false });
    const held = await clock.settle(redlock.acquire(["a"], 10_000));
    const other = new Redlock(runners, { clock, retryCount: 2, retryJitter: 0 });
    const error = await rejection(clock.settle(other.acquire(["a"], 1000)));
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error).toMatchObject({ code: "RESOURCE_LOCKED", name: "ResourceLockedError" });
    expect((error as ResourceLockedError).attempts).toHaveLength(3);
    const stats = await (error as ResourceLockedError).attempts[0];
    expect(stats?.membershipSize).toBe(3);
    expect(stats?.quorumSize).toBe(2);
    expect(stats?.votesFor.size).toBe(0);
    expect(stats?.votesAgainst.size).toBe(3);
    expect(runners[0]?.get("a")).toBe(held.value);
  });

  test("multi-resource locks are all-or-nothing per node", async () => {
    const { clock, runners, redlock } = setup(3);
    for (const runner of runners) runner.set("b", "foreign");
    await expect(
      clock.settle(redlock.acquire(["a", "b"], 1000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    for (const runner of runners) expect(runner.get("a")).toBeUndefined();
  });

  test("decides at quorum without waiting for paused nodes", async () => {
    const { clock, runners, redlock } = setup(5);
    runners[3]?.pause();
    runners[4]?.pause();
    const start = clock.now();
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    expect(clock.now()).toBe(start);
    expect(lock.remainingTime()).toBe(988);
    // The queued writes run on resume and the release, queued behind them, removes them.
    const release = lock.release();
    runners[3]?.resume();
    runners[4]?.resume();
    const result = await clock.settle(release);
    expect(result.outcome).toBe("released");
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });

  test("a majority of foreign holders decides against at once", async () => {
    const { clock, runners, redlock } = setup(5);
    runners[0]?.pause();
    runners[1]?.pause();
    for (const runner of runners.slice(2)) runner.set("a", "foreign");
    const start = clock.now();
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    expect(clock.now()).toBe(start);
  });

  test("on four nodes, two against is already a failure", async () => {
    const { clock, runners, redlock } = setup(4);
    runners[0]?.set("a", "x");
    runners[1]?.set("a", "x");
    runners[2]?.pause();
    const start = clock.now();
    await expect(
      clock.settle(redlock.acquire(["a"], 10_000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    expect(clock.now()).toBe(start);
  });

  test("a silent node counts against after nodeTimeout", async () => {
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 50 });
    runners[0]?.pause();
    runners[1]?.set("a", "foreign");
    const start = clock.now();
    const error = await rejection(clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })));
    expect(clock.now() - start).toBe(50);
    expect(error).toBeInstanceOf(ResourceLockedError);
    const stats = await (error as ExecutionError).attempts[0];
    expect(stats?.votesAgainst.get(runners[0] as ScriptRunner)).toMatchObject({
      code: "NODE_TIMEOUT",
    });
  });

  test("a majority down is QuorumUnreachableError with the node errors as cause", async () => {
    const { clock, runners, redlock } = setup(3);
    runners[0]!.faults.down = true;
    runners[1]!.faults.down = true;
    const error = await rejection(clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })));
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    expect(error).toMatchObject({ code: "QUORUM_UNREACHABLE" });
    expect(error.message).toContain("n0");
    expect(error.cause).toBeInstanceOf(AggregateError);
    expect(runners[2]?.keys()).toEqual([]);
  });

  test("a malformed reply is a node error, never a grant", async () => {
    const clock = new FakeClock();
    const bad: ScriptRunner = { name: "bad", run: async () => "OK" };
    const redlock = new Redlock([bad], { clock });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    const error = await rejection(clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })));
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    expect(errors[0]).toBeInstanceOf(UnexpectedReplyError);
    expect(errors[0]?.message).toContain("[bad]");
  });

  test("a runner that throws synchronously is a node error with its name and cause", async () => {
    const clock = new FakeClock();
    const cause = new Error("boom");
    const broken: ScriptRunner = {
      name: "broken",
      run: () => {
        throw cause;
      },
    };
    const redlock = new Redlock(
      [broken, new MemoryRunner({ clock }), new MemoryRunner({ clock })],
      { clock },
    );
    const errors: NodeError[] = [];
    redlock.on("error", (error) => errors.push(error));
    await clock.settle(redlock.acquire(["a"], 1000));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ node: "broken", code: "NODE_ERROR", cause });
  });

  test("node errors without an error listener never crash", async () => {
    const { clock, runners, redlock } = setup(3);
    runners[0]!.faults.down = true;
    await expect(clock.settle(redlock.acquire(["a"], 1000))).resolves.toBeDefined();
  });
});

describe("validity", () => {
  test("elapsed time is counted from the successful attempt (node-redlock #166, #274)", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 200 }, { pubsub: false });
    for (const runner of runners) runner.set("a", "foreign", 650);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    // Retries every 200 ms, the last one shortened to the holder's remaining TTL (650 ms).
    expect(clock.now()).toBe(651);
    expect(lock.remainingTime()).toBe(988);
    expect(await Promise.all(lock.attempts)).toHaveLength(5);
  });

  test("a lock with no validity left is never returned (node-redlock #296)", async () => {
    const clock = new FakeClock();
    const runners = [0, 1, 2].map(() => new MemoryRunner({ clock }));
    // The replies arrive in time, but the process stalls before it can look at them.
    const stalling: ScriptRunner = {
      run: async (script, keys, args) => {
        const reply = await runners[0]!.run(script, keys, args);
        if (script.name === "acquire") clock.stall(995);
        return reply;
      },
    };
    const redlock = new Redlock([stalling, runners[1]!, runners[2]!], { clock });
    const error = await rejection(clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })));
    expect(error).toBeInstanceOf(LockExpiredError);
    expect(error).toBeInstanceOf(ExecutionError);
    await clock.advance(2000);
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });

  test("slow replies shorten validity by the time they took", async () => {
    const { clock, runners, redlock } = setup(3);
    for (const runner of runners) runner.faults.latency = 300;
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    expect(lock.remainingTime()).toBe(1000 - 300 - 12);
  });

  test("a wall-clock jump does not change validity", async () => {
    const { clock, redlock } = setup(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    clock.jumpWallClock(-3_600_000);
    expect(lock.remainingTime()).toBe(988);
    clock.jumpWallClock(7_200_000);
    expect(lock.remainingTime()).toBe(988);
  });
});

describe("retries", () => {
  test("retryCount: 0 means exactly one attempt (node-redlock #6)", async () => {
    const { clock, runners, redlock } = setup(1);
    runners[0]?.set("a", "foreign");
    const error = await rejection(clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })));
    expect((error as ExecutionError).attempts).toHaveLength(1);
    expect(runners[0]?.stats.calls).toBe(1);
  });

  test("a failed attempt releases its partial grants before the next try", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 1000 });
    runners[0]?.set("a", "foreign", 60_000);
    runners[1]!.faults.down = true;
    const pending = redlock.acquire(["a"], 5000, { retryCount: 1 });
    await clock.advance(10);
    // The attempt was granted on n2 only; that grant is already gone while we wait to retry.
    expect(runners[2]?.keys()).toEqual([]);
    await expect(clock.settle(pending)).rejects.toBeInstanceOf(ResourceLockedError);
  });

  test("two contenders splitting the nodes do not block each other forever", async () => {
    const { clock, runners } = setup(3);
    runners[2]!.faults.down = true;
    const settings = { clock, retryDelay: 100, retryJitter: 50, retryCount: 50 };
    const a = new Redlock(runners, settings);
    const b = new Redlock(runners, settings);
    // Within 5 s exactly one wins (the other would have to wait out the winner's 10 s TTL).
    const both = Promise.allSettled([
      a.acquire(["x"], 10_000, { acquireTimeout: 5000 }),
      b.acquire(["x"], 10_000, { acquireTimeout: 5000 }),
    ]);
    const results = await clock.settle(both);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  test(
    "retryCount: -1 keeps a bounded number of attempts (node-redlock #312)",
    async () => {
      const { clock, runners, redlock } = setup(1, { retryDelay: 10 }, { pubsub: false });
      runners[0]?.set("a", "foreign", 10_000_000);
      const error = await rejection(
        clock.settle(redlock.acquire(["a"], 1000, { retryCount: -1, acquireTimeout: 5000 })),
      );
      expect(error).toBeInstanceOf(ResourceLockedError);
      expect(runners[0]!.stats.calls).toBeGreaterThan(400);
      expect((error as ExecutionError).attempts.length).toBeLessThanOrEqual(16);
    },
    CPU_BOUND_TIMEOUT,
  );

  test(
    "retryCount: Infinity retries until the holder is gone",
    async () => {
      const { clock, runners, redlock } = setup(1, { retryDelay: 100 }, { pubsub: false });
      runners[0]?.set("a", "foreign", 30_000);
      const lock = await clock.settle(
        redlock.acquire(["a"], 1000, { retryCount: Number.POSITIVE_INFINITY }),
      );
      expect(clock.now()).toBe(30_000);
      expect(lock.remainingTime()).toBe(988);
    },
    CPU_BOUND_TIMEOUT,
  );

  test("acquireTimeout stops retrying", async () => {
    const { clock, runners, redlock } = setup(1, { retryDelay: 100 }, { pubsub: false });
    runners[0]?.set("a", "foreign");
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { retryCount: -1, acquireTimeout: 1050 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    expect(clock.now()).toBe(1000);
  });

  test("jittered delays stay within retryDelay ± retryJitter", async () => {
    const clock = new FakeClock();
    const runner = new MemoryRunner({ clock, pubsub: false });
    runner.set("a", "foreign");
    const redlock = new Redlock([runner], {
      clock,
      retryDelay: 100,
      retryJitter: 40,
      retryCount: 20,
    });
    await expect(clock.settle(redlock.acquire(["a"], 1000))).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    expect(clock.now()).toBeGreaterThanOrEqual(20 * 60);
    expect(clock.now()).toBeLessThanOrEqual(20 * 140);
  });
});

describe("abort", () => {
  test("an aborted signal stops retries, releases partial grants and rejects with AbortedError", async () => {
    const { clock, runners, redlock } = setup(3, { retryDelay: 100 });
    runners[0]?.set("a", "foreign");
    runners[1]!.faults.down = true;
    const controller = new AbortController();
    const pending = redlock.acquire(["a"], 1000, { retryCount: -1, signal: controller.signal });
    await clock.advance(250);
    controller.abort(new Error("shutting down"));
    const error = await rejection(clock.settle(pending));
    expect(error).toBeInstanceOf(AbortedError);
    expect(error).toMatchObject({ code: "ABORTED" });
    expect((error.cause as Error).message).toBe("shutting down");
    expect(runners[2]?.keys()).toEqual([]);
  });

  test("an abort during an attempt rejects at once and releases what was granted", async () => {
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 10_000 });
    runners[1]?.pause();
    runners[2]?.pause();
    const controller = new AbortController();
    const pending = redlock.acquire(["a"], 20_000, { signal: controller.signal });
    await clock.advance(5);
    expect(runners[0]?.keys()).toEqual(["a"]);
    controller.abort();
    await expect(clock.settle(pending)).rejects.toBeInstanceOf(AbortedError);
    expect(clock.now()).toBeLessThan(10_000);
    expect(runners[0]?.keys()).toEqual([]);
    runners[1]?.resume();
    runners[2]?.resume();
    await clock.advance(1);
    for (const runner of runners) expect(runner.keys()).toEqual([]);
  });

  test("a signal aborted before the call sends nothing", async () => {
    const { clock, runners, redlock } = setup(3);
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { signal: AbortSignal.abort() })),
    ).rejects.toBeInstanceOf(AbortedError);
    for (const runner of runners) expect(runner.stats.calls).toBe(0);
  });
});

describe("keys and scripts", () => {
  test("keys are the resource names, with an optional prefix", async () => {
    const { clock, runners, redlock } = setup(1, { keyPrefix: "lock:" });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    expect(runners[0]?.keys()).toEqual(["lock:a"]);
    expect(lock.resources).toEqual(["a"]);
    await clock.settle(lock.release());
    expect(runners[0]?.keys()).toEqual([]);
  });

  test("acquire is idempotent for the caller's own value", async () => {
    const clock = new FakeClock();
    const runner = new MemoryRunner({ clock });
    const redlock = new Redlock([runner], { clock });
    const { acquireScript } = redlock.scripts;
    expect(await runner.run(acquireScript, ["a"], ["v1", 1000])).toBe(1);
    await clock.advance(400);
    expect(await runner.run(acquireScript, ["a"], ["v1", 1000])).toBe(1);
    expect(runner.pttl("a")).toBe(1000);
    expect(await runner.run(acquireScript, ["a"], ["v2", 1000])).toBe(-1000);
  });

  test("script overrides accept a string or a transformer, hashed for EVALSHA", async () => {
    const runner: ScriptRunner = { run: async (_s, keys, args) => lockKeys(keys, args) };
    const redlock = new Redlock(
      [runner],
      {},
      {
        acquireScript: (source) => `-- custom\n${source}`,
        releaseScript: "return 1",
      },
    );
    expect(redlock.scripts.acquireScript.source.startsWith("-- custom\n")).toBe(true);
    expect(redlock.scripts.acquireScript.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(redlock.scripts.releaseScript.source).toBe("return 1");
    expect(redlock.scripts.extendScript).toBe(new Redlock([runner]).scripts.extendScript);
  });

  test("the in-memory runner refuses custom scripts clearly", async () => {
    const clock = new FakeClock();
    const runner = new MemoryRunner({ clock, name: "mem" });
    const redlock = new Redlock([runner], { clock }, { acquireScript: "return 1" });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(QuorumUnreachableError);
    expect(errors[0]?.message).toMatch(/needs a real Redis server/);
    expect((errors[0]?.cause as { code?: string } | undefined)?.code).toBe("SCRIPT_NOT_SUPPORTED");
  });
});

describe("background work", () => {
  test("idle() waits for the releases of failed attempts", async () => {
    const { clock, runners, redlock } = setup(3, { nodeTimeout: 100 });
    runners[0]?.set("a", "foreign");
    runners[1]?.set("a", "foreign");
    runners[2]?.pause();
    await expect(
      clock.settle(redlock.acquire(["a"], 1000, { retryCount: 0 })),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    let idle = false;
    const waiting = redlock.idle().then(() => {
      idle = true;
    });
    await clock.flush();
    expect(idle).toBe(false);
    runners[2]?.resume();
    await clock.settle(waiting);
    expect(idle).toBe(true);
    expect(runners[2]?.keys()).toEqual([]);
    await redlock.idle();
  });
});
