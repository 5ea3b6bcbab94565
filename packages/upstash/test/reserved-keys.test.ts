import { teardownAll } from "@redlock/testbed";
import { NodeError, QuorumUnreachableError, Redlock } from "../src";
import { call, clientFor, type Database, drivers, resetDatabases, startDatabases } from "./helpers";

let databases: Database[];

beforeAll(async () => {
  databases = await startDatabases(1);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterAll(() => teardownAll());

// The restart guard's marker is a reserved key: a value the library did not write there is never
// overwritten, and the REST round trip reports it as a failure of that node.
describe.each(drivers)("%s", (_label, make) => {
  test("a lock value at the marker key fails that node and is left as it is", async () => {
    const [a] = databases as [Database];
    const value = "0123456789abcdef0123456789abcdef";
    await call(a.node, "SET", "__redlock__:boot", value, "PX", 60_000);
    const redlock = new Redlock([clientFor(make, a)], {
      restartGuard: { period: 100 },
      retryCount: 0,
    });
    const errors: Error[] = [];
    redlock.on("error", (error) => errors.push(error));
    await expect(redlock.acquire(["r"], 1000)).rejects.toBeInstanceOf(QuorumUnreachableError);
    expect(errors[0]).toBeInstanceOf(NodeError);
    expect(errors[0]?.message).toContain("REDLOCK_RESERVED_KEY __redlock__:boot");
    expect(await call(a.node, "GET", "__redlock__:boot")).toBe(value);
    expect(await call(a.node, "EXISTS", "r")).toBe(0);
  });
});
