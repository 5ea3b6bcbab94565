import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createScript, defaultScripts } from "@redlock/core/adapter";
import { type RedisNode, startRedisNodes, teardownAll } from "@redlock/test-suite/redis";
import { leakedSecrets, recordingValues, settledOutcome } from "@redlock/testbed";
import { createBunRunner, NodeError, NodeUnreachableError, Redlock } from "../src";
import { bunClient, closeClients, connectionCount, until } from "./helpers";

const { acquireScript } = defaultScripts;
const VALUE = "00112233445566778899aabbccddeeff";
/** Busy for 100 ms on the server, then takes the key: its reply is due for that long. */
const SLOW = createScript(
  "acquire",
  "local t = redis.call('TIME'); local start = t[1] * 1e6 + t[2]\n" +
    "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - start > 100000\n" +
    "return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1",
);

let nodes: RedisNode[];
let counter = 0;
const key = (label: string) => `connection:${label}:${++counter}`;

beforeAll(async () => {
  nodes = await startRedisNodes(3);
}, 60_000);
afterEach(() => closeClients());
afterAll(() => teardownAll());

/** The error `promise` rejects with, or a failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: Error & Record<string, unknown>) => error,
  );
}

describe("a closed client", () => {
  test("rejects with NodeUnreachableError saying how to reconnect, and works after connect()", async () => {
    const { url } = nodes[0]!;
    const client = bunClient(url);
    const runner = createBunRunner(client, { url });
    expect(await runner.run(acquireScript, [key("a")], [VALUE, 5000])).toBe(1);
    client.close();
    const error = await rejection(runner.run(acquireScript, [key("b")], [VALUE, 5000]));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.code).toBe("NODE_UNREACHABLE");
    expect(error.message).toStartWith(`[${runner.name}] connection lost`);
    expect(error.message).toContain("client.connect()");
    expect((error.cause as { code?: unknown }).code).toBe("ERR_REDIS_CONNECTION_CLOSED");
    await client.connect();
    expect(await runner.run(acquireScript, [key("c")], [VALUE, 5000])).toBe(1);
  });

  test("core's enforced calls on a connected client fail the same way", async () => {
    const { url } = nodes[0]!;
    const client = bunClient(url);
    await client.connect();
    const redlock = new Redlock([createBunRunner(client, { url })], { retryCount: 0 });
    client.close();
    const error = await rejection(redlock.acquire([key("enforced")], 5000));
    expect(error.code).toBe("QUORUM_UNREACHABLE");
    expect(error.message).toContain("connection lost");
  });

  test("after quit(), calls reject at once, and no connection stays open", async () => {
    const node = nodes[1]!;
    const client = bunClient(node.url);
    const runner = createBunRunner(client, { url: node.url });
    expect(await runner.run(acquireScript, [key("q")], [VALUE, 5000])).toBe(1);
    await runner.onRelease!(key("subscribed"), () => {});
    expect(await connectionCount(node)).toBe(2);
    await runner.quit();
    const error = await rejection(runner.run(acquireScript, [key("late")], [VALUE, 5000]));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(`[${runner.name}] client closed by quit()`);
    await until(async () => (await connectionCount(node)) === 0, "connections open after quit()");
  });

  test("quit() waits for the replies of the calls already sent", async () => {
    const { url } = nodes[2]!;
    const client = bunClient(url);
    await client.connect();
    const runner = createBunRunner(client, { url });
    // Core's way: bounded by its own signal, so the runner tracks nothing for the call.
    const options = { enforced: true, signal: new AbortController().signal };
    const call = runner.run(SLOW, [key("slow")], [VALUE, 5000], options);
    const [reply] = await Promise.all([call, runner.quit()]);
    expect(reply).toBe(1);
    expect(client.connected).toBe(false);
  });
});

describe("sanitized errors", () => {
  test("no lock value in errors or causes: reply errors, closed connections, quit()", async () => {
    const clients = nodes.map(({ url }) => bunClient(url));
    const runners = clients.map((client, i) => createBunRunner(client, { url: nodes[i]!.url }));
    const sent = new Set<string>();
    // Every node echoes the script's arguments in its error reply.
    const echo = new Redlock(
      runners.map((runner) => recordingValues(runner, sent)),
      { retryCount: 0 },
      { acquireScript: "return redis.error_reply('ERR refused ' .. table.concat(ARGV, ' '))" },
    );
    const seen = await settledOutcome(echo.acquire([key("echo")], 5000));
    expect(String(seen[0])).toContain("ERR refused [redacted]");

    // A connection closed under a call that is waiting for its reply.
    await clients[0]!.connect();
    const waiting = rejection(runners[0]!.run(SLOW, [key("closed")], [VALUE, 5000]));
    queueMicrotask(() => clients[0]!.close());
    const closed = await waiting;
    expect(closed).toBeInstanceOf(NodeUnreachableError);

    await runners[1]!.quit();
    const afterQuit = await rejection(runners[1]!.run(acquireScript, [key("q")], [VALUE, 5000]));
    expect(afterQuit).toBeInstanceOf(NodeError);

    expect(sent.size).toBeGreaterThan(0);
    expect(leakedSecrets([...seen, closed, afterQuit], [...sent, VALUE])).toEqual([]);
  });
});

describe("the built package", () => {
  test("imports under Bun with the same API", async () => {
    // Built by turbo before the tests, not before type checking: typed from the sources.
    const dist = "../dist/index.js";
    const built = (await import(dist)) as typeof import("../src/index");
    expect(typeof built.createBunRunner).toBe("function");
    expect(typeof built.Redlock).toBe("function");
    expect(built.NodeUnreachableError.name).toBe("NodeUnreachableError");
    const { url } = nodes[0]!;
    const redlock = new built.Redlock([built.createBunRunner(bunClient(url), { url })]);
    const lock = await redlock.acquire([key("built")], 5000);
    expect((await lock.release()).outcome).toBe("released");
    await redlock.quit();
  });
});
