import { defaultScripts } from "@redlock/core/adapter";
import type { Cluster as Cluster6, Redis as Redis6 } from "ioredis";
import type { Cluster as Cluster5, Redis as Redis5 } from "ioredis-5";
import {
  createIoredisRunner,
  InvalidArgumentError,
  type IoredisClient,
  NodeError,
  Redlock,
  type ScriptRunner,
} from "../src";
import { rejection } from "./helpers";

// Every client of the declared majors satisfies the structural type (checked by tsc).
const clients: IoredisClient[] = [] as (Redis5 | Cluster5 | Redis6 | Cluster6)[];
void clients;

const acquire = defaultScripts.acquireScript;

function mock(overrides: Partial<Record<"evalsha" | "eval" | "quit", jest.Mock>> & object = {}) {
  return {
    evalsha: jest.fn(async () => 1),
    eval: jest.fn(async () => 1),
    quit: jest.fn(async () => "OK"),
    ...overrides,
  };
}

const nameOf = (client: object) => createIoredisRunner({ ...mock(), ...client }).name;

describe("runner name", () => {
  test.each([
    [{ options: { host: "10.0.0.1", port: 6380 } }, "redis://10.0.0.1:6380"],
    [
      { options: { host: "localhost", port: 6379, password: "s3cret", username: "u" } },
      "redis://localhost:6379",
    ],
    // The server, not the database: the databases of one server fail together.
    [{ options: { host: "r.example", port: 6379, tls: {}, db: 2 } }, "rediss://r.example:6379"],
    [{ options: { host: "::1", port: 6379 } }, "redis://[::1]:6379"],
    [{ options: { path: "/run/redis.sock" } }, "unix:///run/redis.sock"],
    [
      {
        options: {
          sentinels: [{ host: "s1", port: 26379 }, { host: "s2" }],
          name: "mymaster",
          sentinelPassword: "x",
        },
      },
      "redis-sentinel://s1:26379,s2:26379/mymaster",
    ],
    [
      {
        isCluster: true,
        startupNodes: [
          7000,
          "10.0.0.2:7001",
          "redis://:s3cret@10.0.0.3:7002",
          { host: "h", port: 7003 },
        ],
        options: { redisOptions: { password: "s3cret" } },
      },
      "redis-cluster://127.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002,h:7003",
    ],
    [{}, "redis://localhost:6379"],
  ])("%j → %s", (client, name) => {
    expect(nameOf(client)).toBe(name);
  });
});

describe("createIoredisRunner", () => {
  test("runs EVALSHA with the key count, keys and args", async () => {
    const client = mock({ evalsha: jest.fn(async () => [1, 0]) });
    const runner = createIoredisRunner(client);
    await expect(runner.run(acquire, ["a", "b"], ["v", 100])).resolves.toEqual([1, 0]);
    expect(client.evalsha).toHaveBeenCalledWith(acquire.sha1, 2, "a", "b", "v", 100);
    expect(client.eval).not.toHaveBeenCalled();
  });

  test("falls back to EVAL once on NOSCRIPT, in any case", async () => {
    const client = mock({
      evalsha: jest.fn(async () => Promise.reject(new Error("noscript gone"))),
    });
    await expect(createIoredisRunner(client).run(acquire, ["a"], ["v", 100])).resolves.toBe(1);
    expect(client.eval).toHaveBeenCalledWith(acquire.source, 1, "a", "v", 100);

    client.eval.mockRejectedValue(new Error("NOSCRIPT still"));
    const error = await rejection(createIoredisRunner(client).run(acquire, ["a"], ["v", 100]));
    expect(error).toBeInstanceOf(NodeError);
    expect(client.eval).toHaveBeenCalledTimes(2);
  });

  test("wraps other errors, thrown or rejected, without trying EVAL, causes sanitized", async () => {
    const cause = new Error("WRONGTYPE nope");
    const thrower = mock({
      evalsha: jest.fn(() => {
        throw cause;
      }),
    });
    const error = (await rejection(
      createIoredisRunner(thrower, { name: "n1" }).run(acquire, ["a"], []),
    )) as NodeError;
    expect(error.message).toBe("[n1] WRONGTYPE nope");
    // A copy: ioredis hangs the command's arguments (the lock value) on its errors.
    expect(error.cause).not.toBe(cause);
    expect(error.cause).toEqual(cause);
    expect(thrower.eval).not.toHaveBeenCalled();

    const rejecter = mock({ evalsha: jest.fn(async () => Promise.reject("down")) });
    const other = await rejection(
      createIoredisRunner(rejecter, { name: "n2" }).run(acquire, [], []),
    );
    expect(other.message).toBe("[n2] down");
    expect(other.cause).toEqual(new Error("down"));
  });

  test("rejects at once when the signal is already aborted", async () => {
    const client = mock();
    const error = await rejection(
      createIoredisRunner(client).run(acquire, ["a"], [], { signal: AbortSignal.abort() }),
    );
    expect(error).toBeInstanceOf(NodeError);
    expect(client.evalsha).not.toHaveBeenCalled();
  });

  test("turns numeric strings into numbers for a stringNumbers client", async () => {
    const client = {
      ...mock({ evalsha: jest.fn(async () => ["2", "0"]) }),
      options: { stringNumbers: true },
    };
    await expect(createIoredisRunner(client).run(acquire, [], [])).resolves.toEqual([2, 0]);
    const plain = mock({ evalsha: jest.fn(async () => "2") });
    await expect(createIoredisRunner(plain).run(acquire, [], [])).resolves.toBe("2");
  });

  test("quit() closes the client, skips a closed one and wraps failures", async () => {
    const client = mock();
    await createIoredisRunner(client).quit!();
    expect(client.quit).toHaveBeenCalledTimes(1);
    const closed = { ...mock(), status: "end" };
    await createIoredisRunner(closed).quit!();
    expect(closed.quit).not.toHaveBeenCalled();
    const failing = mock({ quit: jest.fn(async () => Promise.reject(new Error("boom"))) });
    const error = await rejection(createIoredisRunner(failing, { name: "n" }).quit!());
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).toBe("[n] quit failed: boom");
    expect(error.cause).toEqual(new Error("boom"));
  });

  test("quit() disconnects when QUIT fails and rejects the runs still waiting", async () => {
    const client = {
      ...mock({
        evalsha: jest.fn(() => new Promise(() => {})),
        quit: jest.fn(async () => Promise.reject(new Error("retries exhausted"))),
      }),
      disconnect: jest.fn(),
    };
    const runner = createIoredisRunner(client, { name: "n", timeout: 60_000 });
    const pending = rejection(runner.run(acquire, ["a"], []));
    await expect(runner.quit!()).resolves.toBeUndefined();
    expect(client.disconnect).toHaveBeenCalledTimes(1);
    const error = await pending;
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).toBe("[n] client closed before a reply");
  });

  test.each([
    [null, "client"],
    [{ evalsha: () => 1 }, "client"],
  ])("rejects %j as a client", (client, argument) => {
    expect(() => createIoredisRunner(client as unknown as IoredisClient)).toThrow(
      expect.objectContaining({ reason: "INVALID_RUNNER", argument }),
    );
  });

  test.each([0, -1, 1.5, Number.NaN, 2 ** 31, "100"])("rejects timeout %p", (timeout) => {
    expect(() => createIoredisRunner(mock(), { timeout: timeout as number })).toThrow(
      expect.objectContaining({ reason: "INVALID_SETTING", argument: "options.timeout" }),
    );
  });

  test("accepts an infinite timeout and rejects an empty name", () => {
    expect(() => createIoredisRunner(mock(), { timeout: Number.POSITIVE_INFINITY })).not.toThrow();
    expect(() => createIoredisRunner(mock(), { name: "" })).toThrow(InvalidArgumentError);
  });
});

describe("Redlock", () => {
  test("makes one runner per distinct client and accepts runners", () => {
    const a = mock();
    const runner: ScriptRunner = { name: "custom", run: async () => 1 };
    const redlock = new Redlock([a, a, runner]);
    expect([...redlock.runners].map((r) => r.name)).toEqual(["redis://localhost:6379", "custom"]);
  });

  test.each([
    [undefined, "NO_RUNNERS", "clients"],
    ["redis://x", "NO_RUNNERS", "clients"],
    [[], "NO_RUNNERS", "clients"],
    [[{ get: () => 1 }], "INVALID_RUNNER", "clients[0]"],
    [[mock(), 42], "INVALID_RUNNER", "clients[1]"],
  ])("rejects clients %j", (clients, reason, argument) => {
    expect(() => new Redlock(clients as unknown as IoredisClient[])).toThrow(
      expect.objectContaining({ name: "InvalidArgumentError", reason, argument }),
    );
  });
});
