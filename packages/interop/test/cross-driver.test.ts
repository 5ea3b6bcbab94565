import { Redlock, ResourceLockedError } from "@redlock/core";
import { teardownAll } from "@redlock/testbed";
import { type Bed, closeBed, DRIVERS, type DriverName, runnersFor, startBed } from "./drivers";

// Services on different drivers, same servers: each excludes the others.
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
  DRIVERS.filter((contender) => contender !== holder).map(
    (contender) => [holder, contender] as const,
  ),
);

describe.each(pairs)("a %s holder and a %s contender", (holder, contender) => {
  test.each([[["single"]], [["multi:a", "multi:b", "multi:c"]]])(
    "exclude each other on %j",
    async (names) => {
      const resources = names.map((name) => `${holder}>${contender}:${name}`);
      const held = await redlocks.get(holder)!.acquire(resources, 10_000);
      await expect(redlocks.get(contender)!.acquire(resources, 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      // A lock on one of the resources alone is refused too.
      await expect(
        redlocks.get(contender)!.acquire([resources[0]!], 10_000),
      ).rejects.toBeInstanceOf(ResourceLockedError);
      // The contender cannot release or extend the holder's lock with its own API.
      expect((await held.release()).outcome).toBe("released");
      const next = await redlocks.get(contender)!.acquire(resources, 10_000);
      await expect(redlocks.get(holder)!.acquire(resources, 10_000)).rejects.toBeInstanceOf(
        ResourceLockedError,
      );
      expect((await next.release()).outcome).toBe("released");
    },
  );
});
