import { inspect } from "node:util";
import { respCall, startRedisNodes, teardownAll } from "@redlock/testbed";
import {
  createIoredisRunner,
  type ExecutionError,
  type ExecutionStats,
  NodeError,
  Redlock,
  type ScriptRunner,
} from "../src";
import { closeClients, drivers } from "./helpers";

// A lock value is a bearer token: whoever has it can release or extend the lock. None may show in
// an error, its causes, an `error` event, the per-attempt stats or a log line; `lock.value` is the
// only place. ioredis hangs the command's arguments on its errors (`command.args`), and with them
// the lock value, or the password of a failed AUTH/HELLO.

const PASSWORD = "pw-only-in-the-url-4f1e";
const WRONG_PASSWORD = "pw-rejected-by-the-server-8c2a";
/** What this library's lock values look like; a SHA-1 (40 hex characters) does not match. */
const LOCK_VALUE = /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/i;

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

/**
 * `runner` recording the lock value (ARGV[1]) of every call in `sent`, which it keeps in a
 * closure: inspecting the runner (a key of `votesFor`/`votesAgainst`) cannot reveal them.
 */
function recording(runner: ScriptRunner, sent: Set<string>): ScriptRunner {
  return {
    name: runner.name,
    run(script, keys, args, options) {
      if (script.name !== "fence") sent.add(String(args[0]));
      return runner.run(script, keys, args, options);
    },
  };
}

/** The `error` events of `redlock`, as they come. */
function errorEvents(redlock: Redlock): unknown[] {
  const events: unknown[] = [];
  redlock.on("error", (error) => events.push(error));
  return events;
}

/** What an operation hands back: the error it threw, and the stats of all its attempts. */
async function outcome(
  operation: Promise<{ readonly attempts: ReadonlyArray<Promise<ExecutionStats>> }>,
): Promise<unknown[]> {
  try {
    return await Promise.all((await operation).attempts);
  } catch (error) {
    return [error, ...(await Promise.all((error as ExecutionError).attempts ?? []))];
  }
}

/** `values` and every console call, as `util.inspect` shows them with hidden fields, at any depth. */
function exposed(values: readonly unknown[]): string {
  const proto = Promise.prototype as unknown as Record<symbol, unknown>;
  // Promises (`ExecutionError.attempts`) print as a placeholder: `outcome()` collected their
  // values, and their async-hook fields would drag in the test runner's own state.
  proto[inspect.custom] = () => "[Promise]";
  try {
    const calls = logs.flatMap((spy) => spy.mock.calls);
    return [...values, ...calls]
      .map((value) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }))
      .join("\n");
  } finally {
    delete proto[inspect.custom];
  }
}

function expectNothingSecret(values: readonly unknown[], secrets: Iterable<string>): void {
  const text = exposed(values);
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toMatch(LOCK_VALUE);
}

describe.each(drivers)("%s", (label, driver) => {
  test("a demoted node (READONLY, auto-pipelined): no lock value in errors, events or stats", async () => {
    const [primary, ...nodes] = await startRedisNodes(4);
    const sent = new Set<string>();
    const clients = nodes.map((node) => driver.redis(node.url, { enableAutoPipelining: true }));
    const redlock = new Redlock(
      clients.map((client) => recording(createIoredisRunner(client), sent)),
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
      ...(await outcome(lock.extend(10_000))),
      ...(await outcome(lock.release())),
      // Concurrent locks share a pipeline: no error may carry another lock's value either.
      ...(
        await Promise.all(
          Array.from({ length: 8 }, () => outcome(redlock.acquire([key(label)], 10_000))),
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
      clients.map((client) => recording(createIoredisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10, nodeTimeout: 500 },
    );
    const events = errorEvents(redlock);
    const lock = await redlock.acquire([key(label)], 10_000);
    await Promise.all(lock.attempts);

    clients[0]!.disconnect();
    await clients[1]!.quit();
    // Stopped with a request in flight, then killed: the connection drops under it.
    nodes[2]!.pause();
    const extending = outcome(lock.extend(10_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await nodes[2]!.kill();
    const seen = [
      ...(await extending),
      ...(await outcome(lock.release())),
      ...(await outcome(redlock.acquire([key(label)], 10_000))),
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
      clients.map((client) => recording(createIoredisRunner(client), sent)),
      { retryCount: 1, retryDelay: 10 },
    );
    const events = errorEvents(redlock);
    const seen = await outcome(redlock.acquire([key(label)], 10_000));
    await redlock.idle();

    expect(sent.size).toBeGreaterThan(1);
    const failures = events.map((e) => (e as Error).message).join("\n");
    expect(failures).toMatch(/WRONGPASS/);
    expect(failures).toMatch(/NOAUTH/);
    expectNothingSecret([...seen, ...events], [...sent, PASSWORD, WRONG_PASSWORD]);
  });
});
