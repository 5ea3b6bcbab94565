import { Redlock as CoreRedlock } from "@redlock/core";
import { teardownAll } from "@redlock/testbed";
import { createUpstashRunner, InvalidArgumentError, Redlock } from "../src";
import { clientFor, type Database, drivers, resetDatabases, startDatabases } from "./helpers";

let databases: Database[];

beforeAll(async () => {
  databases = await startDatabases(2);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterAll(() => teardownAll());

/** What `make` threw (fails the test when it returns). */
function thrown(make: () => unknown): Error {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

// One database, one vote: runners are compared by the name derived from the REST URL.
describe.each(drivers)("%s", (_label, make) => {
  test("two clients for one REST URL are refused with DUPLICATE_NODE", () => {
    const [a, b] = databases as [Database, Database];
    const error = thrown(
      () => new Redlock([clientFor(make, a), clientFor(make, b), clientFor(make, a)]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "DUPLICATE_NODE", argument: "runners[2]" });
    expect(error.message).toContain("runners[0] and runners[2]");
    expect(error.message).toContain(`"upstash:${a.bridge.url}"`);
    expect(error.message).not.toContain(a.bridge.token);
  });

  test("runners made from one client, or from two clients on one URL, are refused", () => {
    const [a, b] = databases as [Database, Database];
    const client = clientFor(make, a);
    const runner = createUpstashRunner(client);
    for (const runners of [
      [runner, createUpstashRunner(clientFor(make, b)), createUpstashRunner(client)],
      [createUpstashRunner(clientFor(make, a, { token: "read-only" })), runner],
    ]) {
      expect(thrown(() => new CoreRedlock(runners))).toMatchObject({
        name: "InvalidArgumentError",
        reason: "DUPLICATE_NODE",
      });
    }
  });

  test("names keep the URL's path, never its user info, query or token", () => {
    const [a] = databases as [Database];
    const { token } = a.bridge;
    const url = new URL(a.bridge.url);
    const withAll = `${url.protocol}//user:pw@${url.host}/db-1/${token}/?token=${token}#x`;
    expect(createUpstashRunner(make({ url: withAll, token })).name).toBe(
      `upstash:${a.bridge.url}/db-1/[redacted]`,
    );
    expect(createUpstashRunner(make({ url: `${a.bridge.url}/db-2`, token })).name).toBe(
      `upstash:${a.bridge.url}/db-2`,
    );
  });
});
