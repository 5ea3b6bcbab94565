import { NodeError, QuorumUnreachableError, type ScriptRunner } from "@redlock/core";
import { MemoryRunner } from "@redlock/core/testing";
import {
  adapterConformanceSuite,
  type ConformanceNode,
  type ConformanceTarget,
  type SuiteApi,
  type SuiteOptions,
} from "../src";
import { describeError } from "../src/context";

/** A test the suite registered: its name, body, and whether it went through `it.skip`. */
interface Registered {
  readonly name: string;
  readonly fn: () => Promise<unknown>;
  readonly skipped: boolean;
}

type Hook = () => Promise<unknown>;

/** A SuiteApi that records what the suite registers, and can run it later. */
function recorder(withSkip = true) {
  const tests: Registered[] = [];
  const hooks = { beforeAll: [] as Hook[], afterAll: [] as Hook[], beforeEach: [] as Hook[] };
  const record = (skipped: boolean) => (name: string, fn: () => Promise<unknown>) => {
    tests.push({ name, fn, skipped });
  };
  const api: SuiteApi = {
    describe: (_name, fn) => fn(),
    it: Object.assign(record(false), withSkip ? { skip: record(true) } : {}),
    expect: (actual) => expect(actual),
    beforeAll: (fn) => hooks.beforeAll.push(fn),
    afterAll: (fn) => hooks.afterAll.push(fn),
    beforeEach: (fn) => hooks.beforeEach.push(fn),
  };
  /** Run the tests whose name matches, concurrently after one reset; resolves with their errors. */
  const run = async (pattern: RegExp): Promise<unknown[]> => {
    const chosen = tests.filter((test) => !test.skipped && pattern.test(test.name));
    expect(chosen.length).toBeGreaterThan(0);
    for (const hook of hooks.beforeAll) await hook();
    try {
      for (const hook of hooks.beforeEach) await hook();
      return await Promise.all(
        chosen.map((test) =>
          test.fn().then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      );
    } finally {
      for (const hook of hooks.afterAll) await hook();
    }
  };
  return { api, tests, hooks, run };
}

/** A node over `runner` (a MemoryRunner, or a wrapper of one) with pause and down controls. */
function memoryNode(memory: MemoryRunner, runner: ScriptRunner = memory): ConformanceNode {
  return {
    runner,
    flushScripts: async () => memory.flushScripts(),
    flushAll: async () => memory.flushAll(),
    set: async (key, value, ttl) => memory.set(key, value, ttl),
    get: async (key) => memory.get(key) ?? null,
    pttl: async (key) => memory.pttl(key),
    pause: async () => memory.pause(),
    resume: async () => memory.resume(),
    down: async () => {
      memory.faults.down = true;
    },
    up: async () => {
      memory.faults.down = false;
    },
  };
}

/** A target of memory nodes; `wrap` may change each node's runner or node. */
function memoryTarget(
  extra: Partial<ConformanceTarget> = {},
  wrap: (memory: MemoryRunner) => ConformanceNode = (memory) => memoryNode(memory),
): ConformanceTarget {
  return {
    name: "memory",
    setup: async (count) =>
      Array.from({ length: count }, (_, i) => wrap(new MemoryRunner({ name: `memory-${i}` }))),
    teardown: async () => {},
    ...extra,
  };
}

/** Register the suite on `target` with a recorder. */
function register(target: ConformanceTarget, options?: SuiteOptions, withSkip = true) {
  const recorded = recorder(withSkip);
  adapterConformanceSuite(recorded.api, target, options);
  return recorded;
}

describe("tests that cannot run are reported as skipped, never as passed", () => {
  test("a control the target declares unavailable skips the tests that need it, with the reason", () => {
    const { tests } = register(
      memoryTarget({ unavailable: { pause: "frozen nodes are not supported" } }),
    );
    const paused = tests.filter((test) =>
      /paused minority|does not answer|NOSCRIPT reply/.test(test.name),
    );
    expect(paused.length).toBe(3);
    for (const test of paused) {
      expect(test.skipped).toBe(true);
      expect(test.name).toMatch(/ \[frozen nodes are not supported\]$/);
    }
    const down = tests.find((test) => test.name.startsWith("a majority down"));
    expect(down?.skipped).toBe(false);
  });

  test("without a cluster, the cluster routing group is skipped", () => {
    const { tests } = register(memoryTarget());
    const cluster = tests.filter((test) => /hash slot|hash tag|every master/.test(test.name));
    expect(cluster.length).toBe(4);
    for (const test of cluster) {
      expect(test.skipped).toBe(true);
      expect(test.name).toMatch(/ \[the target is no Redis Cluster\]$/);
    }
  });

  test("a switched-off group is registered as skipped", () => {
    const { tests } = register(memoryTarget(), { groups: { lifecycle: false, quit: false } });
    const off = tests.filter((test) => test.name.includes("is switched off"));
    expect(off.map((test) => test.name.match(/groups\.(\w+)/)?.[1]).sort()).toEqual([
      ...Array(8).fill("lifecycle"),
      ...Array(2).fill("quit"),
    ]);
    expect(off.every((test) => test.skipped)).toBe(true);
    expect(tests.filter((test) => !test.skipped).length).toBeGreaterThan(0);
  });

  test("without it.skip, tests that cannot run are left out with a warning", () => {
    const warn = jest.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const { tests } = register(memoryTarget(), { groups: { quit: false } }, false);
      expect(tests.some((test) => /quit|hash slot/.test(test.name))).toBe(false);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/left out: pass .*\.skip/));
    } finally {
      warn.mockRestore();
    }
  });

  test("a control neither offered nor declared unavailable fails the test, saying how to declare it", async () => {
    const withoutPause = (memory: MemoryRunner): ConformanceNode => {
      const { pause: _pause, resume: _resume, ...node } = memoryNode(memory);
      return node;
    };
    const { run } = register(memoryTarget({}, withoutPause));
    const [error] = await run(/paused minority/);
    expect(String(error)).toMatch(
      /has no pause\(\) control\. List it in the target's `unavailable`/,
    );
  });
});

describe("the onRelease group", () => {
  test("fails a runner whose listeners are never called (waiters would sleep a whole TTL)", async () => {
    // Subscribed on the node, so releases reach a subscriber, but the listener is dropped.
    const dead = (memory: MemoryRunner): ConformanceNode =>
      memoryNode(memory, {
        name: memory.name,
        run: (script, keys, args, options) => memory.run(script, keys, args, options),
        onRelease: (key) => memory.onRelease!(key, () => {}),
      });
    const { run } = register(memoryTarget({}, dead));
    const errors = await run(/onRelease|waiter retrying/);
    expect(errors.length).toBe(2);
    for (const error of errors) {
      expect(String(error)).toMatch(/announcements do not reach onRelease\(\) listeners/);
    }
  }, 30_000);

  test("fails a runner without onRelease, saying how to switch the group off", async () => {
    const withoutPubsub = (memory: MemoryRunner) =>
      memoryNode(memory, new MemoryRunner({ name: memory.name, pubsub: false }));
    const { run } = register(memoryTarget({}, withoutPubsub));
    const [error] = await run(/calls the listener subscribed/);
    expect(String(error)).toMatch(
      /has no onRelease\(\)\. Switch the group off with \{ groups: \{ onRelease: false \} \}/,
    );
  });
});

describe("a node that does not answer", () => {
  test("fails the reset with the last underlying error, as the driver words it", async () => {
    const noScript = Object.assign(new Error("No matching script"), { name: "NoScriptError" });
    const broken = (memory: MemoryRunner): ConformanceNode =>
      memoryNode(memory, {
        name: memory.name,
        run: async () => {
          throw new NodeError(memory.name, "acquire script failed", { cause: noScript });
        },
      });
    const { run } = register(memoryTarget({}, broken));
    await expect(run(/digits stay strings/)).rejects.toThrow(
      /does not answer after reset; last error: QuorumUnreachableError: .* <- NodeError: \[memory-\d\] acquire script failed \(code NODE_ERROR\) <- NoScriptError: No matching script$/,
    );
  }, 30_000);

  test("describeError names every cause, with codes and aggregated errors", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const error = new QuorumUnreachableError("no quorum", [], {
      cause: new AggregateError([new NodeError("a", "down", { cause }), "plain"], "2 failed"),
    });
    expect(describeError(error)).toBe(
      "QuorumUnreachableError: no quorum (code QUORUM_UNREACHABLE) <- AggregateError: 2 failed <- " +
        "NodeError: [a] down (code NODE_ERROR) <- Error: connect ECONNREFUSED (code ECONNREFUSED); plain",
    );
  });
});
