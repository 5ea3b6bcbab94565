import * as adapter from "../src/adapter/index";
import * as root from "../src/index";
import { FakeClock, MemoryRunner } from "../src/testing";

/** The scripts and key helpers that only runners and their tests use: `@redlock/core/adapter`. */
const ADAPTER_ONLY = [
  "ACQUIRE_GUARDED_SCRIPT",
  "ACQUIRE_SCRIPT",
  "ADOPT_SCRIPT",
  "EXTEND_SCRIPT",
  "FENCE_SCRIPT",
  "INSPECT_SCRIPT",
  "READ_ACQUIRE_SCRIPT",
  "RELEASE_SCRIPT",
  "RESERVED_NAMESPACE",
  "RW_EXTEND_SCRIPT",
  "RW_RELEASE_SCRIPT",
  "SEMAPHORE_ACQUIRE_SCRIPT",
  "SEMAPHORE_EXTEND_SCRIPT",
  "SEMAPHORE_RELEASE_SCRIPT",
  "WRITE_ACQUIRE_SCRIPT",
  "createScript",
  "defaultScripts",
  "fenceKey",
  "sha1",
] as const;

describe("public surface", () => {
  test("@redlock/core exports exactly these values", () => {
    expect(Object.keys(root).sort()).toEqual([
      "AbortedError",
      "ExecutionError",
      "InvalidArgumentError",
      "Lock",
      "LockConflictError",
      "LockExpiredError",
      "LockLostError",
      "LockMissingError",
      "LockReleasedError",
      "MAX_DURATION",
      "MAX_TIMER_DELAY",
      "NodeError",
      "NodeRestartedError",
      "NodeTimeoutError",
      "NodeUnreachableError",
      "QuorumUnreachableError",
      "ReadWriteLock",
      "Redlock",
      "RedlockError",
      "ResourceLockedError",
      "ScriptNotSupportedError",
      "Semaphore",
      "UnexpectedReplyError",
      "defaultSettings",
      "drift",
      "quorum",
      "semaphoreQuorum",
      "systemClock",
      "validity",
    ]);
  });

  test("the scripts and key helpers come from @redlock/core/adapter only", () => {
    const exported: Record<string, unknown> = adapter;
    for (const name of ADAPTER_ONLY) {
      expect(exported[name]).toBeDefined();
      expect(name in root).toBe(false);
    }
  });

  test("the adapter entry's scripts are the ones a Redlock runs", () => {
    const redlock = new root.Redlock([new MemoryRunner()]);
    expect(redlock.scripts).toEqual(adapter.defaultScripts);
    expect(adapter.defaultScripts.acquireScript).toEqual(
      adapter.createScript("acquire", adapter.ACQUIRE_SCRIPT),
    );
    expect(adapter.defaultScripts.releaseScript.sha1).toBe(adapter.sha1(adapter.RELEASE_SCRIPT));
    expect(adapter.fenceKey("r", "app:")).toBe(`app:${adapter.RESERVED_NAMESPACE}fence:r`);
  });

  test("Lock's constructor takes the five documented parameters", () => {
    expect(root.Lock.length).toBe(5);
  });

  test("a Lock constructed after the library made one adopts its own expiration", async () => {
    const clock = new FakeClock();
    const redlock = new root.Redlock([new MemoryRunner({ clock })], { clock, retryCount: 0 });
    const made = await redlock.acquire(["a"], 1000);
    const adopted = new root.Lock(redlock, ["b"], "v", [], clock.wallNow() + 5000);
    expect(adopted.expiration).toBe(clock.wallNow() + 5000);
    expect(adopted.remainingTime()).toBe(5000);
    expect(made.remainingTime()).toBeGreaterThan(0);
    expect(made.remainingTime()).toBeLessThanOrEqual(1000);
  });
});
