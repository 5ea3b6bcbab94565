import { createHash } from "node:crypto";
import { defaultScripts } from "@redlock/core/adapter";
import { type RedisNode, respCall, startRedis, teardownAll } from "@redlock/test-suite/redis";
import {
  createValkeyGlideRunner,
  type GlideClientLike,
  InvalidArgumentError,
  type LockScript,
  NodeError,
  NodeUnreachableError,
  QuorumUnreachableError,
  Redlock,
} from "../src";
import { decodeReply } from "../src/client";
import { closeClients, glideClient, rejection } from "./helpers";

afterEach(() => closeClients());
afterAll(() => teardownAll());

const { acquireScript, releaseScript } = defaultScripts;

/** A script of the test's own, as core would hand it to a runner. */
function script(source: string): LockScript {
  return { name: "fence", source, sha1: createHash("sha1").update(source).digest("hex") };
}

/** What a mock client was sent: the arguments and options of each `customCommand`. */
type Sent = { args: string[]; options: object | undefined }[];

/**
 * A mock GLIDE client answering `reply(args)`; a cluster one has the cluster-only methods.
 * `config` is where GLIDE keeps the configuration the client was created with.
 */
function mockClient(
  reply: (args: string[]) => unknown,
  { cluster = false, config = {} as object } = {},
): GlideClientLike & { sent: Sent } {
  const sent: Sent = [];
  return {
    sent,
    config,
    customCommand: async (args: string[], options?: object) => {
      sent.push({ args, options });
      return reply(args);
    },
    close: () => {},
    ...(cluster ? { fcallWithRoute: () => {} } : {}),
  } as GlideClientLike & { sent: Sent };
}

describe("arguments", () => {
  test.each([
    ["undefined", undefined],
    ["an object without customCommand", { close() {} }],
    ["an ioredis-like client", { evalsha() {}, eval() {}, quit() {} }],
  ])("refuses %s as a client", (_, value) => {
    const error = (() => {
      try {
        createValkeyGlideRunner(value as never);
      } catch (e) {
        return e as InvalidArgumentError;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "INVALID_RUNNER", argument: "client" });
    expect(error?.message).toMatch(/GlideClient or GlideClusterClient/);
  });

  test.each([
    [{ timout: 100 }, "UNKNOWN_SETTING", /did you mean timeout\?/],
    [{ keyPrefix: "x" }, "UNKNOWN_SETTING", /runners take name, timeout/],
    [{ timeout: 0 }, "INVALID_SETTING", /whole number of milliseconds/],
    [{ timeout: 1.5 }, "INVALID_SETTING", /whole number of milliseconds/],
    [{ timeout: "100" }, "INVALID_SETTING", /whole number of milliseconds/],
    [{ timeout: 2 ** 31 }, "INVALID_SETTING", /whole number of milliseconds/],
    [{ name: "" }, "INVALID_SETTING", /non-empty string/],
    ["fast", "INVALID_SETTING", /expected an object/],
  ])("refuses the options %j", (options, reason, message) => {
    const client = mockClient(() => 1);
    expect(() => createValkeyGlideRunner(client, options as never)).toThrow(
      expect.objectContaining({ reason, message: expect.stringMatching(message) }),
    );
  });

  test("takes a name and a timeout, Infinity included", () => {
    const client = mockClient(() => 1);
    expect(createValkeyGlideRunner(client, { name: "eu-1", timeout: 2000 }).name).toBe("eu-1");
    expect(() =>
      createValkeyGlideRunner(client, { timeout: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
  });
});

describe("node names, from the configured addresses only", () => {
  test.each([
    [{ addresses: [{ host: "10.0.0.1", port: 6380 }] }, false, "redis://10.0.0.1:6380"],
    [{ addresses: [{ host: "cache.local" }] }, false, "redis://cache.local:6379"],
    [{ addresses: [{ host: "::1", port: 7000 }] }, false, "redis://[::1]:7000"],
    [{ addresses: [{ host: "a", port: 1 }], useTLS: true }, false, "rediss://a:1"],
    [
      {
        addresses: [
          { host: "a", port: 1 },
          { host: "b", port: 2 },
        ],
        databaseId: 3,
      },
      false,
      "redis://a:1,b:2",
    ],
    [
      {
        addresses: [
          { host: "a", port: 1 },
          { host: "b", port: 2 },
        ],
        useTLS: true,
      },
      true,
      "redis-cluster://a:1,b:2",
    ],
    [{}, false, "valkey-glide"],
  ])("%j (cluster: %s) is named %s", (config, cluster, name) => {
    const client = mockClient(() => 1, { cluster, config });
    expect(createValkeyGlideRunner(client).name).toBe(name);
  });

  test("credentials never reach the name", () => {
    const config = {
      addresses: [{ host: "10.0.0.1", port: 6379 }],
      credentials: { username: "app-user", password: "secret-password-1f3a" },
    };
    const name = createValkeyGlideRunner(mockClient(() => 1, { config })).name;
    expect(name).toBe("redis://10.0.0.1:6379");
  });

  test("a real client is named after the address it was created with", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    expect(runner.name).toBe(`redis://${node.host}:${node.port}`);
  });
});

describe("commands", () => {
  test("EVALSHA with the keys and arguments as strings, then EVAL once on GLIDE's NOSCRIPT", async () => {
    let first = true;
    const client = mockClient(() => {
      if (!first) return 1;
      first = false;
      throw new Error(
        "An error was signalled by the server: - NoScriptError: No matching script. Please use EVAL.",
      );
    });
    const runner = createValkeyGlideRunner(client);
    expect(await runner.run(acquireScript, ["a", "b"], ["value", 5000])).toBe(1);
    expect(client.sent.map(({ args }) => args)).toEqual([
      ["EVALSHA", acquireScript.sha1, "2", "a", "b", "value", "5000"],
      ["EVAL", acquireScript.source, "2", "a", "b", "value", "5000"],
    ]);
    expect(client.sent.map(({ options }) => options)).toEqual([undefined, undefined]);
  });

  test("a cluster client routes each call to the primary serving the first key's slot", async () => {
    const client = mockClient(() => [1, 0, 0], { cluster: true });
    const runner = createValkeyGlideRunner(client);
    await runner.run(releaseScript, ["{t}:a", "{t}:b"], ["value"]);
    expect(client.sent[0]?.options).toEqual({ route: { type: "primarySlotKey", key: "{t}:a" } });
  });

  test("replies come back as core expects them, bulk strings decoded from Buffers", () => {
    expect(decodeReply(Buffer.from("ünï"))).toBe("ünï");
    expect(decodeReply([1, Buffer.from("two"), [3, Buffer.from("4")], null])).toEqual([
      1,
      "two",
      [3, "4"],
      null,
    ]);
    expect(decodeReply(-1500)).toBe(-1500);
    expect(decodeReply(null)).toBe(null);
  });

  test.each([
    ["String", 1],
    ["Bytes", 0],
  ])("a client whose default decoder is %s gets strings and numbers", async (_, decoder) => {
    const node = await startRedis();
    const client = await glideClient(node, { defaultDecoder: decoder });
    const runner = createValkeyGlideRunner(client);
    const reply = await runner.run(
      script("return {1, 'two', {-3, '0042'}, false}"),
      ["k"],
      ["ignored"],
    );
    expect(reply).toEqual([1, "two", [-3, "0042"], null]);
  });
});

describe("failures", () => {
  let node: RedisNode;
  beforeEach(async () => {
    node = await startRedis();
  });

  test("a script error is a NodeError naming the node, with GLIDE's error as cause", async () => {
    const runner = createValkeyGlideRunner(await glideClient(node));
    const error = await rejection<NodeError>(
      runner.run(script("return redis.error_reply('BUSYKEY held elsewhere')"), ["k"], ["v"]),
    );
    expect(error).toBeInstanceOf(NodeError);
    expect(error).not.toBeInstanceOf(NodeUnreachableError);
    expect(error.code).toBe("NODE_ERROR");
    expect(error.message).toBe(`[${runner.name}] BUSYKEY: held elsewhere`);
    expect(error.cause).toMatchObject({ name: "RequestError" });
  });

  test("a client closed by its owner: NodeUnreachableError at once, saying so", async () => {
    const client = await glideClient(node);
    const redlock = new Redlock([client], { retryCount: 0, nodeTimeout: 5000 });
    client.close();
    const started = Date.now();
    const error = await rejection<QuorumUnreachableError>(redlock.acquire(["closed"], 10_000));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    expect(error.cause).toBeInstanceOf(NodeUnreachableError);
    expect(error.cause).toMatchObject({
      code: "NODE_UNREACHABLE",
      message: expect.stringMatching(/client is closed.*never reopens/),
      cause: expect.objectContaining({ name: "ClosingError" }),
    });
  });

  test("after quit(), calls fail at once with NodeUnreachableError, and the client is closed", async () => {
    const client = await glideClient(node);
    const runner = createValkeyGlideRunner(client);
    expect(await runner.run(acquireScript, ["q"], ["v", 5000])).toBe(1);
    await runner.quit();
    const error = await rejection<NodeError>(runner.run(acquireScript, ["q"], ["v", 5000]));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(`[${runner.name}] client closed by quit()`);
    await expect(client.customCommand(["PING"])).rejects.toMatchObject({ name: "ClosingError" });
    await expect(runner.quit()).resolves.toBeUndefined();
  });

  test("GLIDE's own requestTimeout is named when it passes first", async () => {
    const runner = createValkeyGlideRunner(await glideClient(node, { requestTimeout: 100 }));
    await runner.run(acquireScript, ["warm"], ["v", 5000]);
    node.pause();
    try {
      const error = await rejection<NodeError>(runner.run(acquireScript, ["slow"], ["v", 5000]));
      expect(error).toBeInstanceOf(NodeError);
      expect(error.message).toBe(
        `[${runner.name}] timed out: no reply within the client's requestTimeout (100 ms)`,
      );
      expect(error.cause).toMatchObject({ name: "TimeoutError" });
    } finally {
      node.resume();
    }
  });
});

describe("waitReplicas (replicaSync)", () => {
  test("a standalone client sends WAIT or WAITAOF as given, and reads the count", async () => {
    const client = mockClient((args) => (args[0] === "WAIT" ? 2 : [1, 2]));
    const runner = createValkeyGlideRunner(client);
    expect(await runner.waitReplicas?.(2, 150, false)).toBe(2);
    expect(await runner.waitReplicas?.(2, 150, true)).toBe(2);
    expect(client.sent).toEqual([
      { args: ["WAIT", "2", "150"], options: undefined },
      { args: ["WAITAOF", "1", "2", "150"], options: undefined },
    ]);
  });

  test("WAITAOF counts no replica when the primary's own append-only file lacks the write", async () => {
    const runner = createValkeyGlideRunner(mockClient(() => [0, 2]));
    expect(await runner.waitReplicas?.(2, 150, true)).toBe(0);
  });

  test("a cluster client has none: WAIT would reach no particular node", () => {
    const runner = createValkeyGlideRunner(mockClient(() => 1, { cluster: true }));
    expect(runner.waitReplicas).toBeUndefined();
    expect(() => new Redlock([runner], { replicaSync: { replicas: 1, timeout: 100 } })).toThrow(
      /cannot wait for replicas/,
    );
  });

  test("GLIDE's timeout for a WAIT is explained", async () => {
    const timedOut = Object.assign(new Error("timed out"), { name: "TimeoutError" });
    const runner = createValkeyGlideRunner(
      mockClient(() => {
        throw timedOut;
      }),
    );
    const error = await rejection(runner.waitReplicas?.(1, 300, false) as Promise<number>);
    expect(error.message).toBe(
      "timed out: no reply within 800 ms (WAIT's 300 and GLIDE's 500); one connection's WAITs run in turn",
    );
  });

  test("WAIT runs on the connection the scripts ran on", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    /** The id of the one connection whose last command matches `command`. */
    const connectionOf = async (command: RegExp) => {
      const list = String(await respCall(node, "CLIENT", "LIST")).split("\n");
      const lines = list.filter((line) => command.test(line));
      expect(lines).toHaveLength(1);
      return /\bid=(\d+)/.exec(lines[0] as string)?.[1];
    };
    expect(await runner.run(acquireScript, ["w"], ["v", 5000])).toBe(1);
    // EVALSHA, then EVAL on a server that did not know the script yet.
    const scripts = await connectionOf(/ cmd=eval(sha)? /);
    // No replica: none acknowledges, once the 50 ms have passed.
    expect(await runner.waitReplicas?.(1, 50, false)).toBe(0);
    expect(await connectionOf(/ cmd=wait /)).toBe(scripts);
  });

  test("quit() lets a WAIT still due finish", async () => {
    const node = await startRedis();
    const runner = createValkeyGlideRunner(await glideClient(node));
    expect(await runner.run(acquireScript, ["q"], ["v", 5000])).toBe(1);
    const waiting = runner.waitReplicas?.(1, 200, false);
    await runner.quit();
    expect(await waiting).toBe(0);
  });
});

describe("Redlock", () => {
  test("takes GLIDE clients and runners alike, each client once", async () => {
    const [a, b, c] = await Promise.all([startRedis(), startRedis(), startRedis()]);
    const clientA = await glideClient(a!);
    const runnerB = createValkeyGlideRunner(await glideClient(b!), { name: "b" });
    const redlock = new Redlock([clientA, runnerB, await glideClient(c!), clientA]);
    const lock = await redlock.acquire(["mixed"], 5000);
    expect(lock.attempts).toHaveLength(1);
    const stats = await lock.attempts[0];
    expect(stats?.votesFor.size).toBe(3);
    expect((await lock.release()).outcome).toBe("released");
    await redlock.quit();
    await expect(clientA.customCommand(["PING"])).rejects.toMatchObject({ name: "ClosingError" });
  });

  test("refuses no clients, and names an entry that is neither client nor runner", () => {
    expect(() => new Redlock([])).toThrow(expect.objectContaining({ reason: "NO_RUNNERS" }));
    const client = mockClient(() => 1, { config: { addresses: [{ host: "a" }] } });
    expect(() => new Redlock([client, {} as never])).toThrow(
      expect.objectContaining({ reason: "INVALID_RUNNER", argument: "clients[1]" }),
    );
  });
});
