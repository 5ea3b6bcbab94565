import {
  errorEvents,
  leakedSecrets,
  recordingValues,
  respCall,
  settledOutcome,
  startRedisNodes,
  teardownAll,
} from "@redlock/testbed";
import { createNodeRedisRunner, NodeError, type NodeRedisClient, Redlock } from "../src";
import { at, connected, type Flavour, flavours } from "./helpers";

// A lock value is a bearer token: whoever has it can release or extend the lock. None may show in
// an error, its causes, an `error` event, the per-attempt stats or a log line; `lock.value` is the
// only place. Nor may a password.

const PASSWORD = "pw-only-in-the-url-4f1e";
const WRONG_PASSWORD = "pw-rejected-by-the-server-8c2a";

let counter = 0;
const key = () => `secrets:${++counter}`;

let logs: jest.SpyInstance[] = [];
beforeEach(() => {
  logs = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(() => {}),
  );
});
afterEach(() => {
  for (const spy of logs) spy.mockRestore();
});
afterAll(() => teardownAll());

/** None of `secrets`, nor anything shaped like a lock value, in `values` or any console call. */
function expectNothingSecret(values: readonly unknown[], secrets: Iterable<string>): void {
  const calls = logs.flatMap((spy) => spy.mock.calls);
  expect(leakedSecrets([...values, ...calls], secrets)).toEqual([]);
}

const close = (client: NodeRedisClient) =>
  client.destroy ? client.destroy() : client.disconnect?.();

describe.each(flavours)("$label", (flavour: Flavour) => {
  const opened: NodeRedisClient[] = [];
  const open = async (url: string, extra?: Record<string, unknown>) => {
    const client = flavour.client(url, extra);
    opened.push(client);
    await (client as unknown as { connect(): Promise<unknown> }).connect().catch(() => {});
    return client;
  };
  afterEach(async () => {
    for (const client of opened.splice(0)) if (client.isOpen) await close(client);
  });

  test("a demoted node (READONLY), concurrent locks: no lock value in errors, events or stats", async () => {
    const [primary, ...nodes] = await startRedisNodes(4);
    const sent = new Set<string>();
    const clients = await Promise.all(nodes.map((node) => open(node.url)));
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createNodeRedisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10 },
    );
    const events = errorEvents(redlock);
    const lock = await redlock.acquire([key(), key()], 10_000);
    await Promise.all(lock.attempts);

    // Writes on a replica fail with READONLY; two of three nodes is a lost quorum.
    await Promise.all(
      nodes.slice(0, 2).map((node) => respCall(at(node), "REPLICAOF", node.host, primary!.port)),
    );
    const seen = [
      ...(await settledOutcome(lock.extend(10_000))),
      ...(await settledOutcome(lock.release())),
      // Concurrent locks share a connection's write batches: no error may carry another's value.
      ...(
        await Promise.all(
          Array.from({ length: 8 }, () => settledOutcome(redlock.acquire([key()], 10_000))),
        )
      ).flat(),
    ];
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(8);
    const readonly = events.filter((e) => e instanceof NodeError && /READONLY/.test(e.message));
    expect(readonly.length).toBeGreaterThan(8);
    expectNothingSecret([...seen, ...events], [...sent, lock.value]);
  });

  test("closed connections (destroy, quit, a killed node): no lock value", async () => {
    const nodes = await startRedisNodes(3);
    const sent = new Set<string>();
    const clients = [
      await open(nodes[0]!.url),
      await open(nodes[1]!.url),
      await open(nodes[2]!.url, { socket: { reconnectStrategy: () => 20 } }),
    ];
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createNodeRedisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10, nodeTimeout: 500 },
    );
    const events = errorEvents(redlock);
    const lock = await redlock.acquire([key()], 10_000);
    await Promise.all(lock.attempts);

    await close(clients[0]!);
    await (clients[1] as unknown as { quit(): Promise<unknown> }).quit();
    // Stopped with a request in flight, then killed: the connection drops under it.
    nodes[2]!.pause();
    const extending = settledOutcome(lock.extend(10_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await nodes[2]!.kill();
    const seen = [
      ...(await extending),
      ...(await settledOutcome(lock.release())),
      ...(await settledOutcome(redlock.acquire([key()], 10_000))),
    ];
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(1);
    expect(events.length).toBeGreaterThan(3);
    expectNothingSecret([...seen, ...events], [...sent, lock.value]);
  });

  test("authentication failures: neither password nor lock value", async () => {
    const nodes = await startRedisNodes(3);
    await Promise.all(
      nodes.map((node) => respCall(at(node), "CONFIG", "SET", "requirepass", PASSWORD)),
    );
    const url = (password: string, port: number) => `redis://:${password}@127.0.0.1:${port}`;
    const sent = new Set<string>();
    const clients = [
      await open(url(WRONG_PASSWORD, nodes[0]!.port)),
      await open(nodes[1]!.url),
      await connected(flavour.client(url(PASSWORD, nodes[2]!.port))),
    ];
    opened.push(clients[2]!);
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createNodeRedisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10 },
    );
    const events = errorEvents(redlock);
    const seen = await settledOutcome(redlock.acquire([key()], 10_000));
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(1);
    expect(events.length).toBeGreaterThan(3);
    expectNothingSecret([...seen, ...events], [...sent, PASSWORD, WRONG_PASSWORD]);
  });
});
