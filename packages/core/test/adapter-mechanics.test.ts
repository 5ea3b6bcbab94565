import { InvalidArgumentError, NodeError, NodeTimeoutError, NodeUnreachableError } from "../src";
import {
  createScriptRunner,
  defaultScripts,
  evalShaOrEval,
  isNoScriptError,
  raceReply,
  runnerSettings,
  type ScriptCommand,
  type ScriptDriver,
} from "../src/adapter";

const LOCK_VALUE = "0123456789abcdef0123456789abcdef";
const { acquireScript, releaseScript } = defaultScripts;
const never = () => new Promise<never>(() => {});
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("resolved");
    },
    (error: unknown) => error as NodeError,
  );

/** A signal that counts its listeners. */
function countingSignal() {
  const controller = new AbortController();
  let listeners = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  const remove = controller.signal.removeEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  }) as typeof add;
  controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    listeners--;
    remove(...args);
  }) as typeof remove;
  return { controller, signal: controller.signal, listeners: () => listeners };
}

describe("runnerSettings", () => {
  test("resolves defaults, calling defaultName only when no name is given", () => {
    const name = jest.fn(() => "redis://h:1");
    expect(runnerSettings(undefined, name)).toEqual({
      name: "redis://h:1",
      timeout: 5000,
      explicitTimeout: false,
    });
    expect(runnerSettings({ name: "n", timeout: 20 }, name)).toEqual({
      name: "n",
      timeout: 20,
      explicitTimeout: true,
    });
    expect(name).toHaveBeenCalledTimes(1);
    expect(runnerSettings({ timeout: Number.POSITIVE_INFINITY }, name).timeout).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(runnerSettings({ timeout: 2 ** 31 - 1 }, name).timeout).toBe(2 ** 31 - 1);
  });

  test.each([0, -1, 1.5, Number.NaN, 2 ** 31, "100", null])("refuses timeout %p", (timeout) => {
    expect(() => runnerSettings({ timeout }, () => "n")).toThrow(
      expect.objectContaining({ reason: "INVALID_SETTING", argument: "options.timeout" }),
    );
  });

  test.each(["", 42, null])("refuses name %p, saying what a name is", (name) => {
    expect(() => runnerSettings({ name }, () => "n")).toThrow(/non-empty string/);
  });

  test("refuses unknown keys, naming the closest known one; the adapter's own keys pass", () => {
    const error = (() => {
      try {
        runnerSettings({ timout: 10 }, () => "n");
      } catch (caught) {
        return caught as InvalidArgumentError;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "UNKNOWN_SETTING", argument: "options.timout" });
    expect(error?.message).toMatch(/did you mean timeout\?/);
    expect(runnerSettings({ subscribe: false }, () => "n", ["subscribe"]).name).toBe("n");
    expect(() => runnerSettings("fast", () => "n")).toThrow(/expected an object/);
  });
});

describe("isNoScriptError", () => {
  test.each([
    new Error("NOSCRIPT No matching script. Please use EVAL."),
    new Error("Command failed: NOSCRIPT No matching script"),
    Object.assign(new Error("No matching script"), { name: "NoScriptError" }),
    { message: "noscript no matching script" },
    "NOSCRIPT No matching script",
  ])("recognizes %p", (error) => {
    expect(isNoScriptError(error)).toBe(true);
  });

  test.each([
    new Error("ERR unknown command"),
    new Error("READONLY You can't write against a read only replica."),
    null,
    42,
  ])("does not take %p for NOSCRIPT", (error) => {
    expect(isNoScriptError(error)).toBe(false);
  });
});

describe("evalShaOrEval", () => {
  test("sends EVAL once after NOSCRIPT", async () => {
    const sent: ScriptCommand[] = [];
    const reply = await evalShaOrEval(async (command) => {
      sent.push(command);
      if (command === "EVALSHA") throw new Error("NOSCRIPT No matching script");
      return 1;
    });
    expect(reply).toBe(1);
    expect(sent).toEqual(["EVALSHA", "EVAL"]);
  });

  test("sends nothing more once the caller stopped waiting, and passes other errors through", async () => {
    const sent: ScriptCommand[] = [];
    const noscript = new Error("NOSCRIPT No matching script");
    const stopped = await rejection(
      evalShaOrEval(
        async (command) => {
          sent.push(command);
          throw noscript;
        },
        () => true,
      ),
    );
    expect(stopped).toBe(noscript);
    const other = new Error("WRONGTYPE");
    await expect(
      evalShaOrEval(() => {
        sent.push("EVALSHA");
        throw other;
      }),
    ).rejects.toBe(other);
    expect(sent).toEqual(["EVALSHA", "EVALSHA"]);
  });
});

describe("raceReply", () => {
  test("resolves with the reply and removes its listener from the caller's signal", async () => {
    const { signal, listeners } = countingSignal();
    const pending = new Set<(error: NodeError) => void>();
    const reply = raceReply(async () => 7, { name: "n", timeout: 1000, signal, pending });
    expect(listeners()).toBe(1);
    expect(pending.size).toBe(1);
    await expect(reply).resolves.toBe(7);
    expect(listeners()).toBe(0);
    expect(pending.size).toBe(0);
  });

  test("rejects with NodeTimeoutError when no reply comes, and aborts the work's own signal", async () => {
    let workSignal: AbortSignal | undefined;
    const error = await rejection(
      raceReply(
        (call) => {
          workSignal = call.signal;
          return never();
        },
        { name: "n", timeout: 1 },
      ),
    );
    expect(error).toBeInstanceOf(NodeTimeoutError);
    expect(error.message).toBe("[n] no reply within 1 ms");
    expect(workSignal?.aborted).toBe(true);
  });

  test("with the caller's signal and no explicit timeout, only the signal ends the wait", async () => {
    const { controller, signal, listeners } = countingSignal();
    let stopped: () => boolean = () => false;
    const reply = raceReply(
      (call) => {
        stopped = () => call.stopped;
        return never();
      },
      { name: "n", timeout: 1, signal },
    );
    // The 1 ms timer would have fired by the time this resolves, had one been set.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped()).toBe(false);
    controller.abort(new Error("deadline passed"));
    const error = await rejection(reply);
    expect(error).toBeInstanceOf(NodeError);
    expect(error).toMatchObject({
      message: "[n] stopped waiting for a reply",
      cause: { message: "deadline passed" },
    });
    expect(stopped()).toBe(true);
    expect(listeners()).toBe(0);
  });

  test("an aborted signal rejects before the work is started", async () => {
    const controller = new AbortController();
    controller.abort(new NodeTimeoutError("n", 5));
    const work = jest.fn(never);
    const error = await rejection(
      raceReply(work, { name: "n", timeout: 10, signal: controller.signal }),
    );
    expect(error).toBeInstanceOf(NodeTimeoutError);
    expect(work).not.toHaveBeenCalled();
  });

  test("a connection failure rejects at once, and the watch is let go", async () => {
    let fail: ((error: NodeUnreachableError) => void) | undefined;
    const untrack = jest.fn();
    const connection = {
      failure: undefined,
      track: (f: (error: NodeUnreachableError) => void) => {
        fail = f;
        return untrack;
      },
    };
    const reply = raceReply(never, { name: "n", timeout: 60_000, connection });
    const refused = new NodeUnreachableError("n", "connection refused");
    fail?.(refused);
    await expect(reply).rejects.toBe(refused);
    expect(untrack).toHaveBeenCalledTimes(1);
  });

  test("a driver rejection is sanitized by default: the lock value is not in the cause", async () => {
    const driverError = Object.assign(new Error(`ERR bad ${LOCK_VALUE}`), {
      command: { args: [LOCK_VALUE] },
    });
    const error = await rejection(
      raceReply(() => Promise.reject(driverError), { name: "n", timeout: 1000 }),
    );
    expect(error).toBeInstanceOf(NodeError);
    expect(error.cause).not.toBe(driverError);
    expect(JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))).not.toContain(
      LOCK_VALUE,
    );
  });
});

describe("createScriptRunner", () => {
  /** A driver whose replies the test decides, recording what it was asked to send. */
  function fakeDriver(overrides: Partial<ScriptDriver> = {}) {
    const sent: { command: ScriptCommand; script: string; raced: boolean }[] = [];
    const replies: ((command: ScriptCommand) => Promise<unknown>)[] = [];
    const driver: ScriptDriver = {
      settings: runnerSettings({ name: "fake" }, () => "fake"),
      send(command, script, _keys, _args, call) {
        sent.push({
          command,
          script: command === "EVAL" ? script.source : script.sha1,
          raced: !!call,
        });
        const next = replies.shift();
        return next ? next(command) : Promise.resolve(1);
      },
      ...overrides,
    };
    return { driver, sent, replies };
  }

  test("the fast path: a ready client and core's bound send at once, with no listener on the signal", async () => {
    const { driver, sent } = fakeDriver({ ready: () => true });
    const runner = createScriptRunner(driver);
    const { signal, listeners } = countingSignal();
    const reply = runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000], { signal, enforced: true });
    expect(listeners()).toBe(0);
    await expect(reply).resolves.toBe(1);
    expect(sent).toEqual([{ command: "EVALSHA", script: acquireScript.sha1, raced: false }]);
  });

  test("falls back to EVAL after NOSCRIPT, but not once core stopped waiting", async () => {
    const { driver, sent, replies } = fakeDriver();
    const runner = createScriptRunner(driver);
    replies.push(() => Promise.reject(new Error("NOSCRIPT No matching script")));
    await expect(runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000])).resolves.toBe(1);
    expect(sent.map((s) => s.command)).toEqual(["EVALSHA", "EVAL"]);

    sent.length = 0;
    const controller = new AbortController();
    let answer: (error: unknown) => void = () => {};
    replies.push(() => new Promise((_, reject) => (answer = reject)));
    const reply = runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000], {
      signal: controller.signal,
    });
    controller.abort(new Error("deadline passed"));
    await expect(reply).rejects.toThrow("stopped waiting for a reply");
    answer(new Error("NOSCRIPT No matching script"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent.map((s) => s.command)).toEqual(["EVALSHA"]);
  });

  test("keepSending lets a script's EVAL fallback go out after the caller stopped waiting", async () => {
    const { driver, sent, replies } = fakeDriver({
      keepSending: (script) => script.name === "release",
    });
    const runner = createScriptRunner(driver);
    const controller = new AbortController();
    let answer: (error: unknown) => void = () => {};
    replies.push(() => new Promise((_, reject) => (answer = reject)));
    const reply = runner.run(releaseScript, ["k"], [LOCK_VALUE], { signal: controller.signal });
    controller.abort(new Error("deadline passed"));
    await expect(reply).rejects.toThrow("stopped waiting");
    answer(new Error("NOSCRIPT No matching script"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent.map((s) => s.command)).toEqual(["EVALSHA", "EVAL"]);
  });

  test("wraps a driver error in NodeError with a sanitized, cleaned cause", async () => {
    const { driver, replies } = fakeDriver({
      clean: (error) =>
        Object.assign(error, { message: error.message.replace("secret", "[redacted]") }),
    });
    const runner = createScriptRunner(driver);
    replies.push(() =>
      Promise.reject(
        Object.assign(new Error(`READONLY secret ${LOCK_VALUE}`), { args: [LOCK_VALUE] }),
      ),
    );
    const error = await rejection(runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000]));
    expect(error).toBeInstanceOf(NodeError);
    expect(error.message).not.toContain(LOCK_VALUE);
    expect(error.message).toMatch(/^\[fake\] READONLY \[redacted\]/);
    expect(Object.values(error.cause as object)).not.toContain([LOCK_VALUE]);
  });

  test("fails at once when the driver says the node is unreachable, sending nothing", async () => {
    const unreachable = new NodeUnreachableError("fake", "the client is closed");
    const { driver, sent } = fakeDriver({ unreachable: () => unreachable });
    const runner = createScriptRunner(driver);
    await expect(runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000])).rejects.toBe(unreachable);
    expect(sent).toHaveLength(0);
  });

  test("decodes replies on both paths", async () => {
    const { driver } = fakeDriver({ ready: () => true, decode: (reply) => [reply] });
    const runner = createScriptRunner(driver);
    await expect(runner.run(acquireScript, ["k"], [LOCK_VALUE, 1])).resolves.toEqual([1]);
    await expect(
      runner.run(acquireScript, ["k"], [LOCK_VALUE, 1], { enforced: true }),
    ).resolves.toEqual([1]);
  });

  test("quit() waits for the driver, then settles every call still waiting", async () => {
    const { driver, replies } = fakeDriver();
    const settledSeen: boolean[] = [];
    driver.quit = async (settled) => {
      const done = settled().then(() => settledSeen.push(true));
      await Promise.race([done, Promise.resolve()]);
    };
    const runner = createScriptRunner(driver);
    replies.push(never);
    const waiting = runner.run(acquireScript, ["k"], [LOCK_VALUE, 1000]);
    await runner.quit();
    const error = await rejection(waiting);
    expect(error.message).toBe("[fake] client closed before a reply");
  });

  test("a failed quit rejects with a NodeError", async () => {
    const { driver } = fakeDriver({
      quit: () => Promise.reject(new Error("ECONNRESET")),
    });
    await expect(createScriptRunner(driver).quit()).rejects.toMatchObject({
      name: "NodeError",
      message: "[fake] quit failed: ECONNRESET",
    });
  });
});
