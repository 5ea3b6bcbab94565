import { Redlock as CoreRedlock } from "@redlock/core";
import { type RedisNode, respCall, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createIoredisRunner, InvalidArgumentError, Redlock } from "../src";
import { closeClients, drivers } from "./helpers";

let nodes: RedisNode[];
let counter = 0;

beforeAll(async () => {
  nodes = await startRedisNodes(2);
});
afterEach(() => closeClients());
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

// One server, one vote: runners are compared by the name the adapter derives from the server's
// address, so two objects that reach one server never count twice.
describe.each(drivers)("%s", (label, driver) => {
  const key = () => `${label.replace(" ", "")}:names:${++counter}`;

  test("two clients for one host and port are refused with DUPLICATE_NODE", () => {
    const [a, b] = nodes as [RedisNode, RedisNode];
    const error = thrown(
      () => new Redlock([driver.redis(a.url), driver.redis(b.url), driver.redis(a.url)]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "DUPLICATE_NODE", argument: "runners[2]" });
    expect(error.message).toContain(`runners[0] and runners[2]`);
    expect(error.message).toContain(`"redis://127.0.0.1:${a.port}"`);
  });

  test("a client passed raw and wrapped by createIoredisRunner is refused", () => {
    const [a, b] = nodes as [RedisNode, RedisNode];
    const client = driver.redis(a.url);
    const wrapped = createIoredisRunner(client);
    for (const make of [
      () => new Redlock([client, driver.redis(b.url), wrapped]),
      () => new CoreRedlock([wrapped, createIoredisRunner(client)]),
    ]) {
      expect(thrown(make)).toMatchObject({
        name: "InvalidArgumentError",
        reason: "DUPLICATE_NODE",
      });
    }
  });

  test("two databases of one server are one node", () => {
    const [a] = nodes as [RedisNode];
    const db2 = driver.redis(`${a.url}/2`);
    expect(createIoredisRunner(db2).name).toBe(`redis://127.0.0.1:${a.port}`);
    expect(thrown(() => new Redlock([driver.redis(a.url), db2]))).toMatchObject({
      reason: "DUPLICATE_NODE",
    });
  });

  test("with allowDuplicateNodeNames, one FLUSHALL lets a second holder in (why the check exists)", async () => {
    const [a, b] = nodes as [RedisNode, RedisNode];
    const clients = () => [driver.redis(a.url), driver.redis(`${a.url}/1`), driver.redis(b.url)];
    expect(() => new Redlock(clients())).toThrow(InvalidArgumentError);
    const options = { allowDuplicateNodeNames: true, retryCount: 0 };
    const holder = new Redlock(clients(), options);
    const rival = new Redlock(clients(), options);
    const k = key();
    const held = await holder.acquire([k], 10_000);
    await Promise.all(held.attempts); // every node's vote, not only a quorum's
    await expect(rival.acquire([k], 10_000)).rejects.toMatchObject({ code: "RESOURCE_LOCKED" });
    await respCall(a, "FLUSHALL"); // one server loses its data: two of three votes are gone
    const second = await rival.acquire([k], 10_000);
    expect(held.remainingTime()).toBeGreaterThan(0);
    expect(second.remainingTime()).toBeGreaterThan(0);
  });
});
