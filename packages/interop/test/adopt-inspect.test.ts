import { LockExpiredError, Redlock, ResourceLockedError } from "@redlock/core";
import { respCall, teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, DRIVERS, type DriverName, runnersFor, startBed } from "./drivers";

// adopt() and inspect() run their own scripts: each driver runs them on real servers, and a
// lock taken through one driver is adopted and inspected through the others.
let bed: Bed;
const redlocks = new Map<DriverName, Redlock>();

beforeAll(async () => {
  bed = await startBed(3);
  for (const driver of DRIVERS) {
    redlocks.set(driver, new Redlock(await runnersFor(bed, driver), { retryCount: 0 }));
  }
});
afterAll(async () => {
  await closeBed(bed);
  await teardownAll();
});

const pairs = DRIVERS.flatMap((holder) =>
  DRIVERS.filter((other) => other !== holder).map((other) => [holder, other] as const),
);

describe.each(pairs)("a lock taken through %s, seen through %s", (holder, other) => {
  const resources = [`${holder}>${other}:a`, `${holder}>${other}:b`];

  test("inspect: held on every node, mine only with the value, the value never shown", async () => {
    const lock = await redlocks.get(holder)!.acquire(resources, 20_000);
    await Promise.all(lock.attempts); // every node's vote, not only a quorum's
    const withValue = await redlocks.get(other)!.inspect(resources, lock.value);
    const without = await redlocks.get(other)!.inspect([...resources, `${holder}>${other}:free`]);
    for (const view of withValue) {
      expect(view).toMatchObject({ state: "held", mine: true });
      expect(view.validity).toBeGreaterThan(10_000);
      for (const node of view.nodes) {
        expect(node).toMatchObject({ state: "held", mine: true });
        expect(node.ttl).toBeGreaterThan(10_000);
      }
    }
    expect(without.map((view) => [view.state, view.mine])).toEqual([
      ["held", false],
      ["held", false],
      ["free", false],
    ]);
    expect(JSON.stringify(without)).not.toContain(lock.value);
    await lock.release();
    // Decided at quorum: the next test needs every node free.
    await redlocks.get(holder)!.idle();
  });

  test("adopt: the other service extends and releases the holder's lock by its value", async () => {
    const lock = await redlocks.get(holder)!.acquire(resources, 20_000);
    await Promise.all(lock.attempts);
    const adopted = await redlocks.get(other)!.adopt(resources, lock.value);
    expect(adopted.expiration).toBeGreaterThan(Date.now() + 10_000);
    expect(adopted.expiration).toBeLessThanOrEqual(lock.expiration + 50);
    const extended = await adopted.extend(60_000);
    // Decided at quorum: wait for every node's answer before reading them all.
    await Promise.all(extended.attempts);
    for (const node of bed.nodes) {
      expect(Number(await respCall(node, "PTTL", resources[0]!))).toBeGreaterThan(30_000);
    }
    expect((await extended.release()).outcome).toBe("released");
    await expect(redlocks.get(other)!.adopt(resources, lock.value)).rejects.toBeInstanceOf(
      LockExpiredError,
    );
    const taken = await redlocks.get(holder)!.acquire(resources, 20_000);
    // Taken at quorum: wait for every node's vote, so no node still answers "gone".
    await Promise.all(taken.attempts);
    await expect(redlocks.get(other)!.adopt(resources, lock.value)).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    await taken.release();
    await redlocks.get(holder)!.idle();
  });
});

test("inspect tells a key of another type from a lock", async () => {
  await Promise.all(bed.nodes.map((node) => respCall(node, "HSET", "typed", "f", "1")));
  for (const driver of DRIVERS) {
    const [view] = await redlocks.get(driver)!.inspect("typed");
    expect(view).toMatchObject({ state: "held", mine: false, validity: Number.POSITIVE_INFINITY });
    expect(view!.nodes.every((node) => node.state === "other" && node.ttl === -1)).toBe(true);
  }
});
