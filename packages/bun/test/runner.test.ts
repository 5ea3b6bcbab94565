import { describe, expect, test } from "bun:test";
import { createScript, defaultScripts } from "@redlock/core/adapter";
import { RedisClient } from "bun";
import { Redis } from "ioredis";
import { type BunRedisClient, createBunRunner, InvalidArgumentError, Redlock } from "../src";

const { acquireScript } = defaultScripts;

/** A stand-in client: answers every command with `reply`, recording what it was sent. */
function stubClient(reply: (command: string, args: string[]) => unknown) {
  const sent: [string, string[]][] = [];
  const client: BunRedisClient = {
    connected: true,
    close() {},
    async send(command, args) {
      sent.push([command, args]);
      return reply(command, args);
    },
  };
  return { client, sent };
}

/** The `InvalidArgumentError` `make` throws, or a failure when it throws none. */
function refusal(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("createBunRunner options", () => {
  const client = new RedisClient("redis://127.0.0.1:1");

  test("refuses what is not a Bun RedisClient", () => {
    const ioredis = new Redis({ lazyConnect: true });
    for (const value of [undefined, null, {}, "redis://x", ioredis]) {
      const error = refusal(() => createBunRunner(value as unknown as BunRedisClient));
      expect(error.reason).toBe("INVALID_RUNNER");
      expect(error.message).toContain('RedisClient from "bun"');
    }
    ioredis.disconnect();
  });

  test("refuses unknown keys, naming the closest known one", () => {
    const error = refusal(() => createBunRunner(client, { urll: "redis://a" } as never));
    expect(error.reason).toBe("UNKNOWN_SETTING");
    expect(error.message).toContain("did you mean url?");
  });

  test("refuses a bad timeout, name or url before anything is sent", () => {
    for (const options of [
      { timeout: 0 },
      { timeout: 1.5 },
      { name: "" },
      { url: 6379 },
      { url: "not a url" },
      { name: "a", url: "::" },
    ]) {
      const error = refusal(() => createBunRunner(client, options as never));
      expect(error.reason).toBe("INVALID_SETTING");
    }
    expect(createBunRunner(client, { timeout: Number.POSITIVE_INFINITY }).name).toMatch(/^bun-/);
  });
});

describe("node names", () => {
  const client = new RedisClient("redis://127.0.0.1:1");
  const named = (url: string) => createBunRunner(client, { url }).name;

  test("come from the URL, without credentials or database", () => {
    expect(named("redis://user:secret-pw@10.0.0.1:6380/4")).toBe("redis://10.0.0.1:6380");
    expect(named("redis://:secret-pw@cache.internal")).toBe("redis://cache.internal:6379");
    expect(named("valkey://[::1]:7000")).toBe("redis://[::1]:7000");
    expect(named("rediss://user:secret-pw@cache.internal:6390")).toBe(
      "rediss://cache.internal:6390",
    );
    expect(named("redis+tls://cache.internal")).toBe("rediss://cache.internal:6379");
    expect(named("redis+unix:///var/run/redis.sock")).toBe("unix:///var/run/redis.sock");
    expect(named("redis+tls+unix:///var/run/redis.sock")).toBe("unix:///var/run/redis.sock");
  });

  test("a name set explicitly wins over the URL", () => {
    const runner = createBunRunner(client, { name: "primary", url: "redis://10.0.0.1:6379" });
    expect(runner.name).toBe("primary");
  });

  test("without url or name, each client has its own stable name", () => {
    const other = new RedisClient("redis://127.0.0.1:2");
    const first = createBunRunner(client).name;
    expect(first).toMatch(/^bun-redis#\d+$/);
    expect(createBunRunner(client).name).toBe(first);
    expect(createBunRunner(other).name).not.toBe(first);
  });

  test("one server counted twice is refused when the runners have its URL", () => {
    const other = new RedisClient("redis://127.0.0.1:2");
    const error = refusal(
      () =>
        new Redlock([
          createBunRunner(client, { url: "redis://10.0.0.1:6379/0" }),
          createBunRunner(other, { url: "redis://10.0.0.1:6379/1" }),
        ]),
    );
    expect(error.reason).toBe("DUPLICATE_NODE");
    // The same client twice is one node, whether as a client or as two runners.
    expect(new Redlock([client, client]).runners.size).toBe(1);
    expect(refusal(() => new Redlock([createBunRunner(client), client])).reason).toBe(
      "DUPLICATE_NODE",
    );
  });
});

describe("Redlock from @redlock/bun", () => {
  test("takes clients and runners alike, and refuses anything else", () => {
    const clients = [1, 2, 3].map((port) => new RedisClient(`redis://127.0.0.1:${port}`));
    const runner = createBunRunner(clients[2]!, { url: "redis://127.0.0.1:3" });
    expect(new Redlock([clients[0]!, clients[1]!, runner]).runners.size).toBe(3);
    const error = refusal(() => new Redlock([clients[0]!, {} as BunRedisClient]));
    expect(error.reason).toBe("INVALID_RUNNER");
    expect(error.message).toContain("clients[1]");
    expect(refusal(() => new Redlock([])).reason).toBe("NO_RUNNERS");
  });
});

describe("script calls", () => {
  test("EVALSHA first, then EVAL once on NOSCRIPT, with string arguments", async () => {
    const { client, sent } = stubClient((command) => {
      if (command === "EVALSHA") throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      return 1;
    });
    const runner = createBunRunner(client, { url: "redis://stub:6379" });
    expect(await runner.run(acquireScript, ["a", "b"], ["value", 5000])).toBe(1);
    expect(sent).toEqual([
      ["EVALSHA", [acquireScript.sha1, "2", "a", "b", "value", "5000"]],
      ["EVAL", [acquireScript.source, "2", "a", "b", "value", "5000"]],
    ]);
  });

  test("RESP3 replies are decoded as RESP2 would have them", async () => {
    const { client } = stubClient(() => [
      true,
      false,
      12n,
      2n ** 70n,
      Object.assign(Object.create(null), { field: 1, nested: [false] }),
      "7",
      null,
      -3,
    ]);
    const runner = createBunRunner(client, { url: "redis://stub:6379" });
    expect(await runner.run(acquireScript, ["a"], ["v", 1000])).toEqual([
      1,
      null,
      12,
      "1180591620717411303424",
      ["field", 1, "nested", [null]],
      "7",
      null,
      -3,
    ]);
  });

  test("a reply error rejects with a NodeError naming the node, its cause without arguments", async () => {
    const value = "0123456789abcdef0123456789abcdef";
    const { client } = stubClient((_command, args) => {
      throw Object.assign(new Error(`ERR script failed for ${args.join(" ")}`), {
        code: "ERR_REDIS_SERVER_ERROR",
      });
    });
    const runner = createBunRunner(client, { url: "redis://stub:6379" });
    const script = createScript("acquire", "return 1");
    const error = (await runner.run(script, ["k"], [value, 1000]).catch((e) => e)) as Error & {
      code: string;
      cause: Error & { code: string };
    };
    expect(error.code).toBe("NODE_ERROR");
    expect(error.message.startsWith("[redis://stub:6379]")).toBe(true);
    expect(error.cause.code).toBe("ERR_REDIS_SERVER_ERROR");
    expect(`${error.message} ${error.cause.message} ${error.cause.stack}`).not.toContain(value);
  });
});

describe("waitReplicas (replicaSync)", () => {
  test("sends WAIT or WAITAOF as given, and reads the count", async () => {
    const { client, sent } = stubClient((command) => (command === "WAIT" ? 2 : [1, 2]));
    const runner = createBunRunner(client, { url: "redis://stub" });
    expect(await runner.waitReplicas?.(2, 150, false)).toBe(2);
    expect(await runner.waitReplicas?.(2, 150, true)).toBe(2);
    expect(sent).toEqual([
      ["WAIT", ["2", "150"]],
      ["WAITAOF", ["1", "2", "150"]],
    ]);
  });

  test("WAITAOF counts no replica when the primary's own append-only file lacks the write", async () => {
    const { client } = stubClient(() => [0, 2]);
    const runner = createBunRunner(client, { url: "redis://stub" });
    expect(await runner.waitReplicas?.(2, 150, true)).toBe(0);
  });

  test("lets Redlock take replicaSync", () => {
    const { client } = stubClient(() => 1);
    const replicaSync = { replicas: 1, timeout: 100 };
    expect(new Redlock([client], { replicaSync }).runners.size).toBe(1);
  });
});
