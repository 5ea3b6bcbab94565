import {
  errorEvents,
  leakedSecrets,
  recordingValues,
  respCall,
  settledOutcome,
  startRedisNodes,
  teardownAll,
} from "@redlock/testbed";
import { createIoredisRunner, NodeError, Redlock } from "../src";
import { closeClients, drivers } from "./helpers";

// A lock value is a bearer token: whoever has it can release or extend the lock. None may show in
// an error, its causes, an `error` event, the per-attempt stats or a log line; `lock.value` is the
// only place. ioredis hangs the command's arguments on its errors (`command.args`), and with them
// the lock value, or the password of a failed AUTH/HELLO.

const PASSWORD = "pw-only-in-the-url-4f1e";
const WRONG_PASSWORD = "pw-rejected-by-the-server-8c2a";

let counter = 0;
const key = (label: string) => `secrets:${label.replace(" ", "")}:${++counter}`;

let logs: jest.SpyInstance[] = [];
beforeEach(() => {
  logs = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(() => {}),
  );
});
afterEach(() => {
  for (const spy of logs) spy.mockRestore();
  closeClients();
});
afterAll(() => teardownAll());

/** None of `secrets`, nor anything shaped like a lock value, in `values` or any console call. */
function expectNothingSecret(values: readonly unknown[], secrets: Iterable<string>): void {
  const calls = logs.flatMap((spy) => spy.mock.calls);
  expect(leakedSecrets([...values, ...calls], secrets)).toEqual([]);
}

describe.each(drivers)("%s", (label, driver) => {
  test("a demoted node (READONLY, auto-pipelined): no lock value in errors, events or stats", async () => {
    const [primary, ...nodes] = await startRedisNodes(4);
    const sent = new Set<string>();
    const clients = nodes.map((node) => driver.redis(node.url, { enableAutoPipelining: true }));
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createIoredisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10 },
    );
    const events = errorEvents(redlock);
    const lock = await redlock.acquire([key(label), key(label)], 10_000);
    await Promise.all(lock.attempts);

    // Writes on a replica fail with READONLY; two of three nodes is a lost quorum.
    await Promise.all(
      nodes.slice(0, 2).map((node) => respCall(node, "REPLICAOF", node.host, primary!.port)),
    );
    const seen = [
      ...(await settledOutcome(lock.extend(10_000))),
      ...(await settledOutcome(lock.release())),
      // Concurrent locks share a pipeline: no error may carry another lock's value either.
      ...(
        await Promise.all(
          Array.from({ length: 8 }, () => settledOutcome(redlock.acquire([key(label)], 10_000))),
        )
      ).flat(),
    ];
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(8);
    const readonly = events.filter((e) => e instanceof NodeError && /READONLY/.test(e.message));
    expect(readonly.length).toBeGreaterThan(8);
    expectNothingSecret([...seen, ...events], [...sent, lock.value]);
  });

  test("closed connections (disconnect, quit, a killed node): no lock value", async () => {
    const nodes = await startRedisNodes(3);
    const sent = new Set<string>();
    const clients = [
      driver.redis(nodes[0]!.url),
      driver.redis(nodes[1]!.url),
      driver.redis(nodes[2]!.url, { retryStrategy: () => 20, enableAutoPipelining: true }),
    ];
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createIoredisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10, nodeTimeout: 500 },
    );
    const events = errorEvents(redlock);
    const lock = await redlock.acquire([key(label)], 10_000);
    await Promise.all(lock.attempts);

    clients[0]!.disconnect();
    await clients[1]!.quit();
    // Stopped with a request in flight, then killed: the connection drops under it.
    nodes[2]!.pause();
    const extending = settledOutcome(lock.extend(10_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await nodes[2]!.kill();
    const seen = [
      ...(await extending),
      ...(await settledOutcome(lock.release())),
      ...(await settledOutcome(redlock.acquire([key(label)], 10_000))),
    ];
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(1);
    expect(events.length).toBeGreaterThan(3);
    expectNothingSecret([...seen, ...events], [...sent, lock.value]);
  });

  test("authentication failures: neither password nor lock value", async () => {
    const nodes = await startRedisNodes(3);
    await Promise.all(
      nodes.map((node) => respCall(node, "CONFIG", "SET", "requirepass", PASSWORD)),
    );
    const at = (password: string, port: number) => `redis://:${password}@127.0.0.1:${port}`;
    const sent = new Set<string>();
    const clients = [
      driver.redis(at(WRONG_PASSWORD, nodes[0]!.port)),
      driver.redis(nodes[1]!.url),
      driver.redis(at(PASSWORD, nodes[2]!.port)),
    ];
    const redlock = new Redlock(
      clients.map((client) => recordingValues(createIoredisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10 },
    );
    const events = errorEvents(redlock);
    const seen = await settledOutcome(redlock.acquire([key(label)], 10_000));
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(1);
    const failures = events.map((e) => (e as Error).message).join("\n");
    expect(failures).toMatch(/WRONGPASS/);
    expect(failures).toMatch(/NOAUTH/);
    expectNothingSecret([...seen, ...events], [...sent, PASSWORD, WRONG_PASSWORD]);
  });
});
