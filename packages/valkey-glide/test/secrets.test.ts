import { respCall, startRedisNodes, teardownAll } from "@redlock/test-suite/redis";
import { errorEvents, leakedSecrets, recordingValues, settledOutcome } from "@redlock/testbed";
import { createValkeyGlideRunner, NodeError, Redlock } from "../src";
import { closeClients, glideClient } from "./helpers";

// A lock value is a bearer token: whoever has it can release or extend the lock. None may show in
// an error, its causes, an `error` event, the per-attempt stats or a log line; `lock.value` is the
// only place. A server error may quote what a script was given, and a failed AUTH what was sent.

const PASSWORD = "pw-only-in-the-config-4f1e";
const WRONG_PASSWORD = "pw-rejected-by-the-server-8c2a";

let counter = 0;
const key = (label: string) => `secrets:${label}:${++counter}`;

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

test("server errors that quote the lock value: redacted from errors, events and stats", async () => {
  const nodes = await startRedisNodes(3);
  const sent = new Set<string>();
  const clients = await Promise.all(nodes.map((node) => glideClient(node)));
  const quoting = "return redis.error_reply('ERR refused ' .. ARGV[1])";
  const redlock = new Redlock(
    clients.map((client) => recordingValues(createValkeyGlideRunner(client), sent)),
    { retryCount: 1, retryDelay: 10 },
    { acquireScript: quoting },
  );
  const events = errorEvents(redlock);
  const seen = await settledOutcome(redlock.acquire([key("quoted")], 10_000));
  await redlock.idle();

  expect(sent.size).toBeGreaterThan(0);
  // GLIDE words it "ResponseError: refused …"; the value is gone from the message.
  const refused = events.filter(
    (e) => e instanceof NodeError && /ResponseError: refused \[redacted\]$/.test(e.message),
  );
  expect(refused.length).toBeGreaterThanOrEqual(6);
  expectNothingSecret([...seen, ...events], sent);
});

test("closed clients, a demoted node, a paused and a killed node: no lock value", async () => {
  const [primary, ...nodes] = await startRedisNodes(5);
  const sent = new Set<string>();
  // GLIDE lets a command to a dead node run to its requestTimeout, even once closed: keep it short.
  const clients = await Promise.all(
    nodes.map((node, i) => glideClient(node, { requestTimeout: i === 3 ? 200 : 1500 })),
  );
  const redlock = new Redlock(
    clients.map((client) => recordingValues(createValkeyGlideRunner(client), sent)),
    { retryCount: 1, retryDelay: 10, nodeTimeout: 1000 },
  );
  const events = errorEvents(redlock);
  const lock = await redlock.acquire([key("faults")], 10_000);
  await Promise.all(lock.attempts);

  clients[0]!.close();
  await respCall(nodes[1]!, "REPLICAOF", primary!.host, primary!.port);
  // Stopped with a request in flight (GLIDE's requestTimeout passes first), then killed.
  nodes[3]!.pause();
  const extending = settledOutcome(lock.extend(10_000));
  await nodes[2]!.kill();
  const seen = [
    ...(await extending),
    ...(await settledOutcome(lock.release())),
    ...(await settledOutcome(redlock.acquire([key("faults")], 10_000))),
  ];
  await redlock.idle();
  nodes[3]!.resume();

  expect(sent.size).toBeGreaterThan(1);
  const names = new Set(events.map((e) => (e as { cause?: { name?: string } }).cause?.name));
  expect([...names]).toEqual(expect.arrayContaining(["ClosingError", "TimeoutError"]));
  expectNothingSecret([...seen, ...events], [...sent, lock.value]);
});

test("authentication failures: neither password nor lock value", async () => {
  const nodes = await startRedisNodes(3);
  await Promise.all(nodes.map((node) => respCall(node, "CONFIG", "SET", "requirepass", PASSWORD)));
  const sent = new Set<string>();
  // Lazily connected, so that the failure comes with a command rather than from createClient.
  const clients = await Promise.all([
    glideClient(nodes[0]!, { lazyConnect: true, credentials: { password: WRONG_PASSWORD } }),
    glideClient(nodes[1]!, { lazyConnect: true }),
    glideClient(nodes[2]!, { credentials: { password: PASSWORD } }),
  ]);
  const redlock = new Redlock(
    clients.map((client) => recordingValues(createValkeyGlideRunner(client), sent)),
    { retryCount: 1, retryDelay: 10, nodeTimeout: 3000 },
  );
  const events = errorEvents(redlock);
  const seen = await settledOutcome(redlock.acquire([key("auth")], 10_000));
  await redlock.idle();

  expect(sent.size).toBeGreaterThan(1);
  expect(events.length).toBeGreaterThan(1);
  expectNothingSecret([...seen, ...events], [...sent, PASSWORD, WRONG_PASSWORD]);
});
