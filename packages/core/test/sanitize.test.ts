import { inspect } from "node:util";
import { type ExecutionError, NodeError, Redlock, type ScriptRunner } from "../src";
import { sanitizeError } from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";

const VALUE = "0123456789abcdef0123456789abcdef";
const OTHER_VALUE = "fedcba9876543210fedcba9876543210";
const SHA1 = "a71e78c61d3583dbf1d55e2c34d7b11fc285a347";

/** An error as ioredis rejects a script call with: the command's arguments attached. */
function driverError(message: string, args: unknown[] = ["source", "1", "k", VALUE, "1000"]) {
  return Object.assign(new Error(message), {
    name: "ReplyError",
    command: { name: "eval", args },
    args,
    previousErrors: [Object.assign(new Error("ERR earlier"), { command: { args } })],
  });
}

const everything = (value: unknown) =>
  inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true });

describe("sanitizeError", () => {
  test("keeps name, message, code, errno, syscall, address, port and frames; drops the rest", () => {
    const original = Object.assign(driverError("connect ECONNREFUSED 10.0.0.1:6379"), {
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
      address: "10.0.0.1",
      port: 6379,
    });
    const copy = sanitizeError(original);
    expect(copy).not.toBe(original);
    expect(copy).toMatchObject({
      name: "ReplyError",
      message: "connect ECONNREFUSED 10.0.0.1:6379",
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
      address: "10.0.0.1",
      port: 6379,
    });
    expect(Object.keys(copy).sort()).toEqual(
      ["address", "code", "errno", "name", "port", "syscall"].sort(),
    );
    expect(copy.stack?.split("\n")[0]).toBe("ReplyError: connect ECONNREFUSED 10.0.0.1:6379");
    expect(copy.stack?.split("\n").slice(1)).toEqual(original.stack?.split("\n").slice(1));
    expect(everything(copy)).not.toContain(VALUE);
  });

  test("removes the call's arguments, lock-shaped values and command echoes from every text", () => {
    const secret = "a-token-that-is-not-hex";
    const original = new Error(`ERR bad value ${secret} near ${OTHER_VALUE}`, {
      cause: new Error(
        `Unauthorized, command was: ["evalsha","${SHA1}","1","k","${VALUE}","1000"]`,
      ),
    });
    const copy = sanitizeError(original, ["1000", secret, 7]);
    expect(copy.message).toBe("ERR bad value [redacted] near [redacted]");
    expect((copy.cause as Error).message).toBe("Unauthorized");
    const text = everything(copy);
    for (const hidden of [secret, OTHER_VALUE, VALUE, SHA1]) expect(text).not.toContain(hidden);
    // A script's SHA-1 is no secret, and short arguments (durations, flags) are left alone.
    expect(sanitizeError(new Error(`NOSCRIPT ${SHA1} after 1000 ms`), ["1000"]).message).toBe(
      `NOSCRIPT ${SHA1} after 1000 ms`,
    );
  });

  test("copies causes and the errors of an AggregateError, and stops at a cycle", () => {
    const inner = driverError("ERR inner");
    const aggregate = Object.assign(new AggregateError([inner, "plain"], "both failed"), {
      code: "ECONNREFUSED",
    });
    const copy = sanitizeError(new Error("outer", { cause: aggregate })).cause as AggregateError & {
      code?: string;
    };
    expect(copy).toBeInstanceOf(AggregateError);
    expect(copy.code).toBe("ECONNREFUSED");
    expect(copy.errors.map((error: Error) => error.message)).toEqual(["ERR inner", "plain"]);
    expect(everything(copy)).not.toContain(VALUE);

    const looped = new Error("looped");
    looped.cause = looped;
    expect(sanitizeError(looped).message).toBe("looped");
  });

  class WeirdError extends Error {
    override get message(): string {
      throw new Error("message getter");
    }
  }
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error("trap");
      },
    },
  );

  test.each([
    ["a string", `failed for ${VALUE}`, "failed for [redacted]"],
    ["undefined", undefined, "undefined"],
    ["a number", 42, "42"],
    ["a symbol", Symbol("boom"), "Symbol(boom)"],
    ["a null-prototype object", Object.create(null), "has no readable message"],
    ["an Error whose message getter throws", new WeirdError(), "has no readable message"],
    ["a proxy whose every read throws", hostile, "has no readable message"],
  ])("turns %s into a plain Error, never throwing", (_, thrown, message) => {
    const copy = sanitizeError(thrown, [VALUE]);
    expect(copy).toBeInstanceOf(Error);
    expect(copy.message).toContain(message);
  });
});

describe("core wraps what a runner throws", () => {
  test("a driver error's arguments never reach events, errors or stats", async () => {
    const clock = new FakeClock();
    const sent = new Set<string>();
    // A runner as a user may write it, rejecting with the driver's error as it came.
    const leaky = (name: string): ScriptRunner => ({
      name,
      run: async (script, keys, args) => {
        sent.add(String(args[0]));
        throw driverError(`READONLY You can't write against a read only replica.`, [
          script.source,
          keys.length,
          ...keys,
          ...args,
        ]);
      },
    });
    const redlock = new Redlock([leaky("leaky"), leaky("leaky-2"), new MemoryRunner({ clock })], {
      clock,
      retryCount: 1,
    });
    const events: unknown[] = [];
    redlock.on("error", (error) => events.push(error));
    const error = (await clock
      .settle(redlock.acquire(["a"], 1000))
      .catch((e: unknown) => e)) as ExecutionError;
    const stats = await clock.settle(Promise.all(error.attempts));
    await clock.settle(redlock.idle());

    expect(sent.size).toBeGreaterThan(0);
    expect(events[0]).toBeInstanceOf(NodeError);
    expect(events[0]).toMatchObject({
      message: "[leaky] READONLY You can't write against a read only replica.",
      cause: { name: "ReplyError" },
    });
    const text = [error, ...events, ...stats]
      .map((value) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }))
      .join("\n");
    for (const value of sent) expect(text).not.toContain(value);
  });
});
