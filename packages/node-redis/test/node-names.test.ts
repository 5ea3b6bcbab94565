import { Redlock as CoreRedlock } from "@redlock/core";
import { type RedisNode, respCall, startRedisNodes, teardownAll } from "@redlock/testbed";
import { createNodeRedisRunner, InvalidArgumentError, type NodeRedisClient, Redlock } from "../src";
import { at, connected, type Flavour, flavours } from "./helpers";

let nodes: RedisNode[];
let counter = 0;

beforeAll(async () => {
  nodes = await startRedisNodes(2);
});
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

// One server, one vote: runners are compared by the name derived from the server's address.
describe.each(flavours)("$label", (flavour: Flavour) => {
  const opened: NodeRedisClient[] = [];
  const open = async (url: string, extra?: Record<string, unknown>) => {
    const client = await connected(flavour.client(url, extra));
    opened.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of opened.splice(0)) {
      if (client.isOpen) await (client.destroy ? client.destroy() : client.disconnect?.());
    }
  });

  test("two clients for one host and port are refused with DUPLICATE_NODE", async () => {
    const [a, b] = nodes as [RedisNode, RedisNode];
    const clients = [await open(a.url), await open(b.url), await open(a.url)];
    const error = thrown(() => new Redlock(clients));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "DUPLICATE_NODE", argument: "runners[2]" });
    expect(error.message).toContain(`runners[0] and runners[2]`);
    expect(error.message).toContain(`"redis://127.0.0.1:${a.port}"`);
  });

  test("a client passed raw and wrapped by createNodeRedisRunner is refused", async () => {
    const [a, b] = nodes as [RedisNode, RedisNode];
    const client = await open(a.url);
    const wrapped = createNodeRedisRunner(client);
    const other = await open(b.url);
    for (const make of [
      () => new Redlock([client, other, wrapped]),
      () => new CoreRedlock([wrapped, createNodeRedisRunner(client)]),
    ]) {
      expect(thrown(make)).toMatchObject({
        name: "InvalidArgumentError",
        reason: "DUPLICATE_NODE",
      });
    }
  });

  test("two databases of one server are one node", async () => {
    const [a] = nodes as [RedisNode];
    const db2 = await open(`${a.url}/2`);
    expect(createNodeRedisRunner(db2).name).toBe(`redis://127.0.0.1:${a.port}`);
    const db0 = await open(a.url);
    expect(thrown(() => new Redlock([db0, db2]))).toMatchObject({ reason: "DUPLICATE_NODE" });
  });

  test("clients that share one socket options object are named after their own URLs", async () => {
    // node-redis copies each URL's host and port into the `socket` object it was given.
    const socket = { reconnectStrategy: false as const, connectTimeout: 2000 };
    const clients = [];
    for (const node of nodes) clients.push(await open(node.url, { socket }));
    const redlock = new Redlock(clients, { retryCount: 0 });
    expect([...redlock.runners].map((runner) => runner.name)).toEqual(
      nodes.map((node) => `redis://127.0.0.1:${node.port}`),
    );
    const k = `names:${++counter}`;
    const lock = await redlock.acquire([k], 5000);
    await Promise.all(lock.attempts);
    for (const node of nodes) expect(await respCall(at(node), "GET", k)).toBe(lock.value);
    await lock.release();
  });

  test("names never carry credentials from the URL", async () => {
    const [a] = nodes as [RedisNode];
    const client = flavour.client(`redis://user:s3cret@127.0.0.1:${a.port}/3`);
    expect(createNodeRedisRunner(client).name).toBe(`redis://127.0.0.1:${a.port}`);
  });
});
