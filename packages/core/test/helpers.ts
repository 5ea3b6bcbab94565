import { Redlock, type RedlockOptions, type ScriptRunner } from "../src";
import { FakeClock, MemoryRunner } from "../src/testing";

/**
 * N in-memory nodes on one fake clock, and a Redlock over them (jitter off for determinism).
 * `pubsub: false` gives runners without `subscribe`, whose waiters poll.
 */
export function setup(nodes = 3, options: RedlockOptions = {}, { pubsub = true } = {}) {
  const clock = new FakeClock();
  const runners = Array.from(
    { length: nodes },
    (_, i) => new MemoryRunner({ name: `n${i}`, clock, pubsub }),
  );
  const redlock = new Redlock(runners, { retryJitter: 0, minDuration: 1, clock, ...options });
  return { clock, runners, redlock };
}

/** A runner that records every call and never touches a node. */
export function spyRunner(name = "spy"): ScriptRunner & { calls: number } {
  const runner = {
    name,
    calls: 0,
    run: async () => {
      runner.calls++;
      return 0;
    },
  };
  return runner;
}

/**
 * Timeout of a test that does much CPU work on fake time (a fast-check property with many runs,
 * thousands of fake-clock steps). Its outcome does not depend on speed, but the work takes a
 * second or more on an idle core: jest's 5 s default, a wall-clock limit, fails it on a loaded
 * machine. This one only bounds a hang.
 */
export const CPU_BOUND_TIMEOUT = 60_000;

/**
 * How many lock keys a plain acquire or release call carries: the built-in scripts get the
 * keys followed by their waiting lines, with a place in line (acquire) or the count (release)
 * among the arguments.
 */
export function lockKeys(
  keys: readonly string[],
  args: readonly (string | number)[],
  kind: "acquire" | "release" = "acquire",
): number {
  if (kind === "acquire") return args[2] === undefined ? keys.length : keys.length / 2;
  const count = args[1];
  return typeof count === "number" ? count : keys.length;
}
