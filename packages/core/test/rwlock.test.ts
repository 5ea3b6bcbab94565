import { InvalidArgumentError, ResourceLockedError } from "../src";
import { setup } from "./helpers";

describe("ReadWriteLock", () => {
  test("many readers at once; a writer waits for all of them, then excludes readers", async () => {
    const { clock, redlock } = setup(3, { retryCount: 0 });
    const rw = redlock.readWriteLock("doc");
    const readers = await Promise.all([rw.read(10_000), rw.read(10_000), rw.read(10_000)]);
    await expect(rw.write(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    for (const reader of readers) await reader.release();
    const writer = await rw.write(10_000);
    await expect(rw.read(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await expect(rw.write(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    expect((await writer.release()).outcome).toBe("released");
    // The first writer, refused while readers held, gave up: its waiting mark keeps readers out
    // until it expires.
    await expect(rw.read(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await clock.advance(5_000);
    await expect(rw.read(10_000)).resolves.toBeDefined();
  });

  test("a waiting writer keeps new readers out, so readers cannot starve it", async () => {
    const { clock, redlock } = setup(3, { retryDelay: 200, retryJitter: 0 });
    const rw = redlock.readWriteLock("feed");
    const first = await clock.settle(rw.read(1_000));
    const writer = rw.write(1_000);
    await clock.advance(1);
    // The writer was refused and now waits: a new reader is refused although only readers hold.
    await expect(clock.settle(rw.read(1_000, { retryCount: 0 }))).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    await first.release();
    const granted = await clock.settle(writer);
    expect(granted.resources).toEqual(["feed"]);
    await clock.settle(granted.release());
    await expect(clock.settle(rw.read(1_000, { retryCount: 0 }))).resolves.toBeDefined();
  });

  test("a writer that gives up stops blocking readers once its waiting mark expires", async () => {
    const { clock, redlock } = setup(3, { retryDelay: 100, retryJitter: 0, nodeTimeout: 100 });
    const rw = redlock.readWriteLock("gave-up");
    const reader = await clock.settle(rw.read(60_000));
    await expect(clock.settle(rw.write(1_000, { retryCount: 0 }))).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    await expect(clock.settle(rw.read(1_000, { retryCount: 0 }))).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    // The mark lives 2 × (retryDelay + retryJitter) + nodeTimeout = 300 ms.
    await clock.advance(301);
    await expect(clock.settle(rw.read(1_000, { retryCount: 0 }))).resolves.toBeDefined();
    await clock.settle(reader.release());
  });

  test("holds extend, expire on their own, and work with using() and await using", async () => {
    const { clock, redlock } = setup(3, { retryCount: 0 });
    const rw = redlock.readWriteLock("ttl");
    const crashed = await rw.write(1_000);
    await clock.advance(1_001);
    expect(crashed.remainingTime()).toBe(0);
    const reader = await rw.read(1_000);
    const extended = await reader.extend(5_000);
    await clock.advance(2_000);
    await expect(rw.write(1_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await extended.release();
    const result = await rw.usingWrite(1_000, async (signal, context) => {
      await clock.advance(900);
      await clock.advance(900);
      expect(signal.aborted).toBe(false);
      expect(context.extensions).toBeGreaterThan(0);
      await expect(rw.read(1_000)).rejects.toBeInstanceOf(ResourceLockedError);
      return "rebuilt";
    });
    expect(result).toBe("rebuilt");
    {
      await using held = await rw.read(1_000);
      expect(held.remainingTime()).toBeGreaterThan(0);
      await expect(rw.write(1_000)).rejects.toBeInstanceOf(ResourceLockedError);
    }
    await expect(rw.write(1_000)).resolves.toBeDefined();
  });

  test("a plain lock, a semaphore and a read-write lock on one resource exclude each other", async () => {
    const { redlock } = setup(3, { retryCount: 0 });
    const rw = redlock.readWriteLock("mixed");
    const reader = await rw.read(10_000);
    await expect(redlock.acquire(["mixed"], 10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await expect(redlock.semaphore("mixed", { limit: 3 }).acquire(10_000)).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    await reader.release();
    const lock = await redlock.acquire(["mixed"], 10_000);
    await expect(rw.read(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await expect(rw.write(10_000)).rejects.toBeInstanceOf(ResourceLockedError);
    await lock.release();
    const [view] = await redlock.inspect("mixed");
    expect(view!.state).toBe("free");
  });

  test("a released write hold wakes a waiting reader at once", async () => {
    const { clock, redlock } = setup(3, { retryDelay: 60_000, retryCount: 5 });
    const rw = redlock.readWriteLock("wake");
    const writer = await clock.settle(rw.write(30_000));
    const reader = rw.read(30_000);
    await clock.advance(1);
    await writer.release();
    const read = await clock.settle(reader);
    expect(clock.now()).toBeLessThan(1_000);
    await clock.settle(read.release());
  });

  test("bad input is refused before anything is sent", async () => {
    const { runners, redlock } = setup(3);
    expect(() => redlock.readWriteLock("")).toThrow(InvalidArgumentError);
    const rw = redlock.readWriteLock("x");
    await expect(rw.read(1_000, { fencing: true } as never)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(rw.write(0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(rw.write(1_000, { retries: 1 } as never)).rejects.toMatchObject({
      reason: "UNKNOWN_SETTING",
    });
    expect(runners.map((runner) => runner.stats.calls)).toEqual([0, 0, 0]);
  });
});
