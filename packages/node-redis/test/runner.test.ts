import { inspect } from "node:util";
import { Redlock as CoreRedlock } from "@redlock/core";
import { defaultScripts } from "@redlock/core/adapter";
import * as redis6 from "redis";
import * as redis4 from "redis-4";
import * as redis5 from "redis-5";
import {
  createNodeRedisRunner,
  InvalidArgumentError,
  NodeError,
  type NodeRedisClient,
  type NodeRedisCluster,
  Redlock,
  type ScriptRunner,
} from "../src";

// Compile-time: clients and clusters of every declared major fit the structural types.
const fits: Array<NodeRedisClient | NodeRedisCluster> = [
  redis4.createClient(),
  redis4.createCluster({ rootNodes: [] }),
  redis5.createClient({ RESP: 3 }),
  redis5.createCluster({ rootNodes: [] }),
  redis6.createClient(),
  redis6.createCluster({ rootNodes: [] }),
];

/** A client double that records what the runner sends. */
function fake(replies: Array<unknown | Error>, options?: unknown) {
  const sent: string[][] = [];
  const client: NodeRedisClient = {
    isOpen: true,
    options,
    async sendCommand(args) {
      sent.push(args);
      const reply = replies.shift();
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
  return { client, sent };
}

describe("createNodeRedisRunner", () => {
  test("accepts clients and clusters of every declared major", () => {
    for (const client of fits) expect(() => createNodeRedisRunner(client)).not.toThrow();
  });

  test.each([
    [
      "redis 4 url with credentials",
      redis4.createClient({ url: "redis://u:secret@10.0.0.1:6380/3" }),
    ],
    [
      "redis 5 url with credentials",
      redis5.createClient({ url: "redis://u:secret@10.0.0.1:6380/3" }),
    ],
    [
      "redis 6 url with credentials",
      redis6.createClient({ url: "redis://u:secret@10.0.0.1:6380/3" }),
    ],
  ])("derives a name without credentials (%s)", (_, client) => {
    const { name } = createNodeRedisRunner(client);
    expect(name).toBe("redis://10.0.0.1:6380"); // the server: its databases fail together
  });

  test.each([
    [undefined, "redis://localhost:6379"],
    [{ socket: { host: "::1", port: 7000 } }, "redis://[::1]:7000"],
    [{ socket: { host: "cache", port: 6390, tls: true }, password: "x" }, "rediss://cache:6390"],
    [{ socket: { path: "/run/redis.sock" }, database: 1 }, "unix:///run/redis.sock"],
  ])("names a client from its options %j", (options, name) => {
    expect(createNodeRedisRunner(fake([], options).client).name).toBe(name);
  });

  test("names a cluster from its masters, or generically before connect()", () => {
    const sendCommand = async () => null;
    const masters = [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
    ];
    expect(createNodeRedisRunner({ isOpen: true, masters, sendCommand }).name).toBe(
      "redis-cluster://10.0.0.1:7000,10.0.0.2:7001",
    );
    expect(createNodeRedisRunner({ isOpen: false, masters: [], sendCommand }).name).toBe(
      "redis-cluster",
    );
    expect(createNodeRedisRunner(redis6.createCluster({ rootNodes: [] }), { name: "c" }).name).toBe(
      "c",
    );
  });

  test("sends EVALSHA with string arguments, then EVAL once on NOSCRIPT", async () => {
    const { client, sent } = fake([new Error("NOSCRIPT No matching script."), [1, 0]]);
    const runner = createNodeRedisRunner(client);
    const script = defaultScripts.releaseScript;
    await expect(runner.run(script, ["a", "b"], ["value", 10])).resolves.toEqual([1, 0]);
    expect(sent).toEqual([
      ["EVALSHA", script.sha1, "2", "a", "b", "value", "10"],
      ["EVAL", script.source, "2", "a", "b", "value", "10"],
    ]);
  });

  test("does not retry with EVAL on other errors, and wraps them", async () => {
    const cause = new Error("ERR something");
    const { client, sent } = fake([cause]);
    const runner = createNodeRedisRunner(client, { name: "n1" });
    const error = await runner.run(defaultScripts.acquireScript, ["a"], ["v", 1]).catch((e) => e);
    expect(error).toBeInstanceOf(NodeError);
    expect(error).toMatchObject({ message: "[n1] ERR something", node: "n1", cause });
    expect(sent).toHaveLength(1);
  });

  test("keeps a sanitized copy of a client error: no arguments, no lock value", async () => {
    const value = "0123456789abcdef0123456789abcdef";
    const leaky = Object.assign(new Error(`ERR failed for ${value}`), {
      code: "ERR",
      command: { args: ["EVALSHA", "sha", "1", "a", value] },
    });
    const runner = createNodeRedisRunner(fake([leaky]).client, { name: "n1" });
    const error = await runner.run(defaultScripts.releaseScript, ["a"], [value]).catch((e) => e);
    expect(error).toMatchObject({
      message: "[n1] ERR failed for [redacted]",
      cause: { code: "ERR" },
    });
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(
      value,
    );
  });

  test("a NOSCRIPT error on the EVAL retry is wrapped, not retried again", async () => {
    const { client, sent } = fake([new Error("NOSCRIPT a"), new Error("NOSCRIPT b")]);
    const runner = createNodeRedisRunner(client);
    await expect(runner.run(defaultScripts.acquireScript, ["a"], ["v", 1])).rejects.toThrow(
      "[redis://localhost:6379] NOSCRIPT b",
    );
    expect(sent).toHaveLength(2);
  });

  test("rejects bad input with InvalidArgumentError", () => {
    const { client } = fake([]);
    const bad: Array<[() => unknown, string]> = [
      [() => createNodeRedisRunner({} as NodeRedisClient), "client"],
      [() => createNodeRedisRunner(null as unknown as NodeRedisClient), "client"],
      [() => createNodeRedisRunner(client, { name: "" }), "options.name"],
      [() => createNodeRedisRunner(client, { timeout: 0 }), "options.timeout"],
      [() => createNodeRedisRunner(client, { timeout: Number.NaN }), "options.timeout"],
      [() => createNodeRedisRunner(fake([], { keyPrefix: Buffer.from("p") }).client), "client"],
    ];
    for (const [call, argument] of bad) {
      expect(call).toThrow(InvalidArgumentError);
      try {
        call();
      } catch (error) {
        expect(error).toMatchObject({ argument });
      }
    }
  });
});

describe("Redlock", () => {
  test("is the package's own class, extending core's", () => {
    expect(Redlock).not.toBe(CoreRedlock);
    const redlock = new Redlock([fake([]).client]);
    expect(redlock).toBeInstanceOf(CoreRedlock);
    expect([...redlock.runners].map((runner) => runner.name)).toEqual(["redis://localhost:6379"]);
  });

  test("turns each client into one runner, once per client, and keeps runners as given", () => {
    const a = fake([]).client;
    const b = fake([], { socket: { host: "b", port: 1 } }).client;
    const runner: ScriptRunner = { name: "custom", run: async () => 1 };
    const redlock = new Redlock([a, b, a, runner]);
    expect([...redlock.runners].map((r) => r.name)).toEqual([
      "redis://localhost:6379",
      "redis://b:1",
      "custom",
    ]);
    expect([...redlock.runners][2]).toBe(runner);
  });

  test.each([
    [null, "NO_RUNNERS", "clients"],
    ["redis://x", "NO_RUNNERS", "clients"],
    [[], "NO_RUNNERS", "clients"],
    [[{ get: () => null }], "INVALID_RUNNER", "clients[0]"],
    [[fake([]).client, "redis://localhost"], "INVALID_RUNNER", "clients[1]"],
  ])("rejects %j with %s", (clients, reason, argument) => {
    expect(() => new Redlock(clients as never)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", reason, argument }),
    );
  });
});
