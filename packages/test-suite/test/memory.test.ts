import { FakeClock, MemoryRunner } from "@redlock/core/testing";
import { adapterConformanceSuite, type ConformanceNode } from "../src";

// The in-memory runner passes the same kit every adapter runs.
function memoryNode(runner: MemoryRunner): ConformanceNode {
  return {
    runner,
    flushScripts: async () => runner.flushScripts(),
    flushAll: async () => runner.flushAll(),
    set: async (key, value, ttl) => runner.set(key, value, ttl),
    get: async (key) => runner.get(key) ?? null,
    pttl: async (key) => runner.pttl(key),
    pause: async () => runner.pause(),
    resume: async () => runner.resume(),
    down: async () => {
      runner.faults.down = true;
    },
    up: async () => {
      runner.faults.down = false;
    },
  };
}

adapterConformanceSuite(
  { describe, it, expect, beforeAll, afterAll, beforeEach },
  {
    name: "MemoryRunner",
    setup: async (count) =>
      Array.from({ length: count }, (_, i) =>
        memoryNode(new MemoryRunner({ name: `memory-${i}` })),
      ),
    teardown: async () => {},
    unavailable: { openRunner: "each MemoryRunner is a node of its own" },
  },
  // MemoryRunner ignores abort signals (core always passes `enforced`) and has no quit().
  { groups: { abortSignals: false, quit: false } },
);

test("FakeClock is exported for users' own tests", () => {
  expect(new FakeClock().now()).toBe(0);
});
