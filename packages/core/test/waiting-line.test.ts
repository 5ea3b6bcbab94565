import { Redlock, ResourceLockedError, type ScriptRunner } from "../src";
import { prefixKeepsSlot, waitingLineKey } from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";
import { CPU_BOUND_TIMEOUT } from "./helpers";

const forever = { retryCount: -1 } as const;

/** A process far from the nodes: each request and each announcement takes `ms` to arrive. */
function distant(runner: MemoryRunner, clock: FakeClock, ms: number): ScriptRunner {
  const later = <T>(value: () => T) =>
    new Promise<T>((resolve) => clock.setTimeout(() => resolve(value()), ms));
  return {
    name: runner.name,
    run: (script, keys, args, options) =>
      later(() => runner.run(script, keys, args, options)).then((reply) => reply),
    onRelease: (key, listener) =>
      (runner.onRelease as NonNullable<ScriptRunner["onRelease"]>)(
        key,
        () => void later(() => listener()),
      ),
  };
}

/** `acquisition`, noting `name` in `order` once it holds the lock. */
function noted<T>(order: string[], name: string, acquisition: Promise<T>): Promise<T> {
  return acquisition.then((lock) => {
    order.push(name);
    return lock;
  });
}

/** Nodes, a process next to them and a process `ms` away, on one fake clock. */
function deployment(nodes: number, ms: number) {
  const clock = new FakeClock();
  const runners = Array.from(
    { length: nodes },
    (_, i) => new MemoryRunner({ name: `n${i}`, clock }),
  );
  const near = new Redlock(runners, { clock, retryJitter: 0 });
  const far = new Redlock(
    runners.map((runner) => distant(runner, clock, ms)),
    { clock, retryJitter: 0 },
  );
  return { clock, runners, near, far };
}

describe("waiting lines: across processes, a release gives the turn to the longest waiter", () => {
  test("a waiter far away gets the lock before a newer waiter next to the releaser", async () => {
    const { clock, runners, near, far } = deployment(3, 5);
    const held = await clock.settle(near.acquire(["a"], 10_000));
    const order: string[] = [];
    const farWaiter = noted(order, "far", far.acquire(["a"], 10_000, forever));
    await clock.advance(50);
    const nearWaiter = noted(order, "near", near.acquire(["a"], 10_000, forever));
    await clock.advance(50);
    // The releaser's own waiter hears of the release first and tries at once, but the turn is
    // the far waiter's: it joined the line first.
    const releasedAt = clock.now();
    await clock.settle(held.release());
    const first = await clock.settle(farWaiter);
    expect(order).toEqual(["far"]);
    expect(runners[0]?.get("a")).toBe(first.value);
    // Announcement and request, 5 ms each way: the turn did not have to run out.
    expect(clock.now() - releasedAt).toBeLessThan(30);
    await clock.settle(first.release());
    const second = await clock.settle(nearWaiter);
    expect(order).toEqual(["far", "near"]);
    await clock.settle(second.release());
  });

  test("fencing acquisitions keep the same line", async () => {
    const { clock, near, far } = deployment(3, 5);
    const held = await clock.settle(near.acquire(["a"], 10_000, { fencing: true }));
    const order: string[] = [];
    const farWaiter = noted(
      order,
      "far",
      far.acquire(["a"], 10_000, { ...forever, fencing: true }),
    );
    await clock.advance(50);
    const nearWaiter = noted(
      order,
      "near",
      near.acquire(["a"], 10_000, { ...forever, fencing: true }),
    );
    await clock.advance(50);
    await clock.settle(held.release());
    const first = await clock.settle(farWaiter);
    expect(first.fencingToken).toBe((held.fencingToken ?? 0) + 1);
    await clock.settle(first.release());
    await clock.settle(nearWaiter).then((lock) => clock.settle(lock.release()));
    expect(order).toEqual(["far", "near"]);
  });

  test(
    "two processes, one 3 ms farther from the nodes, take turns with a contended lock",
    async () => {
      const { clock, near, far } = deployment(3, 3);
      const counts = { near: 0, far: 0 };
      let inside = 0;
      let most = 0;
      let stop = false;
      const worker = async (redlock: Redlock, side: "near" | "far") => {
        while (!stop) {
          const lock = await redlock.acquire(["shared"], 5000, forever);
          inside++;
          most = Math.max(most, inside);
          counts[side]++;
          if (counts.near + counts.far >= 120) stop = true;
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
          inside--;
          await lock.release();
        }
      };
      const workers = [0, 1, 2, 3, 4].flatMap(() => [worker(near, "near"), worker(far, "far")]);
      await clock.settle(Promise.all(workers), 120_000);
      expect(most).toBe(1);
      // Without lines the near process wins nearly every release (its waiters hear first); with
      // them the two take turns.
      const total = counts.near + counts.far;
      expect(counts.far).toBeGreaterThanOrEqual(total * 0.4);
      expect(counts.near).toBeGreaterThanOrEqual(total * 0.4);
      // And no turn ran out unused: each hand-off took a few round trips, never a whole window.
      expect(clock.now()).toBeLessThan(total * 10);
    },
    CPU_BOUND_TIMEOUT,
  );

  test(
    "three processes at 0, 1 and 3 ms from three nodes all get a fair share, without stalls",
    async () => {
      const clock = new FakeClock();
      const runners = [0, 1, 2].map((i) => new MemoryRunner({ name: `n${i}`, clock }));
      const processes = [0, 1, 3].map(
        (ms) =>
          new Redlock(
            runners.map((runner) => (ms === 0 ? runner : distant(runner, clock, ms))),
            { clock, retryJitter: 0 },
          ),
      );
      const counts = [0, 0, 0];
      let inside = 0;
      let most = 0;
      let stop = false;
      const worker = async (p: number) => {
        while (!stop) {
          const lock = await processes[p]!.acquire(["shared"], 5000, forever);
          inside++;
          most = Math.max(most, inside);
          counts[p]!++;
          if (counts[0]! + counts[1]! + counts[2]! >= 150) stop = true;
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
          inside--;
          await lock.release();
        }
      };
      const workers = [0, 1, 2, 3].flatMap(() => [worker(0), worker(1), worker(2)]);
      await clock.settle(Promise.all(workers), 120_000);
      expect(most).toBe(1);
      const total = counts[0]! + counts[1]! + counts[2]!;
      for (const count of counts) expect(count).toBeGreaterThanOrEqual(total / 6);
      expect(clock.now()).toBeLessThan(total * 10);
    },
    CPU_BOUND_TIMEOUT,
  );

  test("a waiter whose round trips take a fraction of a millisecond more keeps its place after its retries", async () => {
    // 5.3 ms each way: the far waiter's turn window (three round trips) is not a whole number
    // of milliseconds; a place sent with such a window would not parse on a server.
    const { clock, runners, near, far } = deployment(3, 5.3);
    const held = await clock.settle(near.acquire(["a"], 10_000));
    const order: string[] = [];
    const farWaiter = noted(order, "far", far.acquire(["a"], 10_000, forever));
    // Past its first retry (200 ms): its place now comes from a try that measured a round trip.
    await clock.advance(250);
    const nearWaiter = noted(order, "near", near.acquire(["a"], 10_000, forever));
    await clock.advance(50);
    await clock.settle(held.release());
    const first = await clock.settle(farWaiter);
    expect(order).toEqual(["far"]);
    expect(runners[1]?.get("a")).toBe(first.value);
    await clock.settle(first.release());
    await clock.settle(nearWaiter).then((lock) => clock.settle(lock.release()));
    expect(order).toEqual(["far", "near"]);
  });

  test("a turn given to a waiter that left runs out after its window; then the next one takes it", async () => {
    const { clock, near, far } = deployment(3, 5);
    const held = await clock.settle(near.acquire(["a"], 10_000));
    const controller = new AbortController();
    const gone = far.acquire(["a"], 10_000, { ...forever, signal: controller.signal });
    gone.catch(() => {});
    await clock.advance(50);
    const waiting = near.acquire(["a"], 10_000, forever);
    await clock.advance(50);
    controller.abort();
    await expect(clock.settle(gone)).rejects.toThrow();
    const releasedAt = clock.now();
    await clock.settle(held.release());
    const lock = await clock.settle(waiting);
    // The turn (three round trips of the far waiter, at least 30 ms) passed; then it was free.
    expect(clock.now() - releasedAt).toBeGreaterThanOrEqual(30);
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(200);
    await clock.settle(lock.release());
  });

  test("a single try respects a turn, and does not join the line", async () => {
    const { clock, runners, near, far } = deployment(1, 5);
    const held = await clock.settle(near.acquire(["a"], 10_000));
    const waiting = far.acquire(["a"], 10_000, forever);
    await clock.advance(50);
    await held.release();
    // The key is free, but it is the far waiter's turn: a try from elsewhere is refused.
    const third = new Redlock(runners, { clock, retryJitter: 0 });
    await expect(third.acquire(["a"], 1000, { retryCount: 0 })).rejects.toThrow(
      ResourceLockedError,
    );
    const lock = await clock.settle(waiting);
    await clock.settle(lock.release());
    // Nobody waits in line any more (the single try did not join it): the key is anyone's.
    const single = await third.acquire(["a"], 1000, { retryCount: 0 });
    expect(runners[0]?.get("a")).toBe(single.value);
  });

  test("instances with custom scripts send no waiting lines", async () => {
    const calls: { keys: readonly string[]; args: readonly unknown[] }[] = [];
    const runner: ScriptRunner = {
      run: async (_script, keys, args) => {
        calls.push({ keys, args });
        return keys.length;
      },
    };
    const redlock = new Redlock([runner], {}, { acquireScript: (source) => `${source}\n` });
    await redlock.acquire(["a"], 1000);
    expect(calls[0]).toEqual({ keys: ["a"], args: [expect.any(String), 1000] });
  });

  test("a node that cannot keep lines in the lock key's slot turns them off for the instance", async () => {
    const calls: (readonly string[])[] = [];
    const runner: ScriptRunner = {
      waitingLines: false,
      run: async (_script, keys) => {
        calls.push(keys);
        return keys.length;
      },
    };
    const redlock = new Redlock([runner]);
    const lock = await redlock.acquire(["a"], 1000);
    await lock.release();
    expect(calls).toEqual([["a"], ["a"]]);
    expect(prefixKeepsSlot("")).toBe(true);
    expect(prefixKeepsSlot("{app}:")).toBe(true);
    expect(prefixKeepsSlot("app:")).toBe(false);
    expect(prefixKeepsSlot("app{}:")).toBe(false);
  });

  test("a line lives in the lock key's cluster slot", () => {
    expect(waitingLineKey("job")).toBe("__redlock__:line:{job}");
    expect(waitingLineKey("app:job", "app:")).toBe("app:__redlock__:line:{app:job}");
    expect(waitingLineKey("app:{user}:job", "app:")).toBe("app:__redlock__:line:{user}:{user}:job");
    expect(waitingLineKey("{app}:job", "{app}:")).toBe("{app}:__redlock__:line:job");
  });
});
