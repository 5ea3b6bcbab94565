import { Redlock, ResourceLockedError } from "@redlock/core";
import { respCall, teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, DRIVERS, type DriverName, runnersFor, startBed } from "./drivers";

// A semaphore taken through one driver is respected through the others, on real servers.
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

const semaphore = (driver: DriverName, resource: string, limit: number) =>
  redlocks.get(driver)!.semaphore(resource, { limit });

test("a limit of 3 holds across the three drivers; a release through one lets another in", async () => {
  const held = await Promise.all(
    DRIVERS.map((driver) => semaphore(driver, "jobs", 3).acquire(20_000)),
  );
  for (const driver of DRIVERS) {
    await expect(semaphore(driver, "jobs", 3).acquire(20_000)).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
  }
  for (const node of bed.nodes) {
    expect(await respCall(node, "ZCARD", "jobs")).toBe(3);
    expect(Number(await respCall(node, "PTTL", "jobs"))).toBeGreaterThan(10_000);
  }
  // Any driver's inspect recognizes a holder's permits by its value, and no one else's.
  for (const driver of DRIVERS) {
    const [mine] = await redlocks.get(driver)!.inspect("jobs", held[0]!);
    expect(mine).toMatchObject({ state: "held", mine: true });
    const [theirs] = await redlocks.get(driver)!.inspect("jobs");
    expect(theirs).toMatchObject({ state: "held", mine: false });
  }
  expect((await held[0]!.release()).outcome).toBe("released");
  // Decided at a majority, while the next grant needs every node (limit 3 on 3): wait for them.
  await redlocks.get(DRIVERS[0]!)!.idle();
  const next = await semaphore("upstash", "jobs", 3).acquire(20_000);
  const released = await Promise.all([next, ...held.slice(1)].map((lock) => lock.release()));
  // A release is decided at quorum; wait for every node's answer before reading them all.
  await Promise.all(released.flatMap((result) => result.attempts));
  for (const node of bed.nodes) expect(await respCall(node, "EXISTS", "jobs")).toBe(0);
});

describe.each(DRIVERS)("through %s", (driver) => {
  test("permits, extension and expiry run on the server's clock", async () => {
    const resource = `${driver}:pool`;
    const two = await semaphore(driver, resource, 3).acquire(20_000, { permits: 2 });
    await expect(
      semaphore(driver, resource, 3).acquire(20_000, { permits: 2 }),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    const extended = await two.extend(60_000);
    for (const node of bed.nodes) {
      expect(Number(await respCall(node, "PTTL", resource))).toBeGreaterThan(30_000);
    }
    // A holder whose permits expired no longer counts: once the server's clock passes its
    // permit's expiry, the next acquisition gets the permit back.
    const short = await semaphore(driver, resource, 3).acquire(200);
    let next: Awaited<ReturnType<Redlock["acquire"]>> | undefined;
    while (!next) {
      next = await semaphore(driver, resource, 3)
        .acquire(20_000)
        .catch(async (error: unknown) => {
          if (!(error instanceof ResourceLockedError)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
          return undefined;
        });
    }
    expect(short.remainingTime()).toBe(0);
    await next.release();
    await extended.release();
  });

  test("a lock and a semaphore on one resource exclude each other", async () => {
    const resource = `${driver}:shared`;
    const permit = await semaphore(driver, resource, 5).acquire(20_000);
    for (const other of DRIVERS) {
      await expect(redlocks.get(other)!.acquire([resource], 20_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
    }
    await permit.release();
    const lock = await redlocks.get(driver)!.acquire([resource], 20_000);
    for (const other of DRIVERS) {
      await expect(semaphore(other, resource, 5).acquire(20_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
    }
    await lock.release();
  });
});
