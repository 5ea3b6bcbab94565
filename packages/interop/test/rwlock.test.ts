import { Redlock, ResourceLockedError } from "@redlock/core";
import { respCall, teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, DRIVERS, type DriverName, runnersFor, startBed } from "./drivers";

// A read-write lock taken through one driver is respected through the others, on real servers.
let bed: Bed;
const redlocks = new Map<DriverName, Redlock>();

beforeAll(async () => {
  bed = await startBed(3);
  for (const driver of DRIVERS) {
    redlocks.set(
      driver,
      new Redlock(await runnersFor(bed, driver), { retryCount: 0, retryDelay: 50 }),
    );
  }
});
afterAll(async () => {
  await closeBed(bed);
  await teardownAll();
});

const rw = (driver: DriverName, resource: string) => redlocks.get(driver)!.readWriteLock(resource);

describe.each(DRIVERS)("a writer through %s", (writerDriver) => {
  test("waits for readers of every driver, then excludes them all", async () => {
    const resource = `${writerDriver}:doc`;
    const readers = await Promise.all(DRIVERS.map((driver) => rw(driver, resource).read(20_000)));
    const writing = rw(writerDriver, resource).write(20_000, { retryCount: 100 });
    // The waiting writer keeps new readers out, through any driver.
    let refused = 0;
    while (refused < DRIVERS.length) {
      refused = 0;
      for (const driver of DRIVERS) {
        const outcome = await rw(driver, resource)
          .read(20_000)
          .then(
            (lock) => lock.release().then(() => "granted"),
            (error: unknown) => (error instanceof ResourceLockedError ? "refused" : error),
          );
        if (outcome === "refused") refused++;
      }
    }
    for (const reader of readers) await reader.release();
    const writer = await writing;
    // The lock is handed out at quorum: wait for every node's vote before looking at all of them.
    await Promise.all(writer.attempts);
    // Readers refused overall may have been granted on one node; their grants are given back in
    // the background: once that is done, no node has a reader, and a quorum has the writer (a node
    // that refused the writer meanwhile keeps only its waiting mark, which expires on its own).
    await Promise.all(DRIVERS.map((driver) => redlocks.get(driver)!.idle()));
    let holding = 0;
    for (const node of bed.nodes) {
      const fields = (await respCall(node, "HKEYS", resource)) as string[];
      expect(fields.filter((field) => field.startsWith("r:"))).toEqual([]);
      if (!fields.includes(`w:${writer.value}`)) continue;
      holding++;
      expect(Number(await respCall(node, "PTTL", resource))).toBeGreaterThan(10_000);
    }
    expect(holding).toBeGreaterThanOrEqual(2);
    for (const driver of DRIVERS) {
      await expect(rw(driver, resource).read(20_000)).rejects.toBeInstanceOf(ResourceLockedError);
      await expect(rw(driver, resource).write(20_000)).rejects.toBeInstanceOf(ResourceLockedError);
      await expect(redlocks.get(driver)!.acquire([resource], 20_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
    }
    const [seen] = await redlocks.get(writerDriver)!.inspect(resource, writer);
    expect(seen).toMatchObject({ state: "held", mine: true });
    const extended = await writer.extend(40_000);
    expect((await extended.release()).outcome).toBe("released");
    await redlocks.get(writerDriver)!.idle(); // decided at quorum: wait for every node
    // No holder is left; a waiting mark of a refused try may still be there until it expires.
    for (const node of bed.nodes) {
      const fields = (await respCall(node, "HKEYS", resource)) as string[];
      expect(fields.filter((field) => !field.startsWith("i:"))).toEqual([]);
    }
  });
});
