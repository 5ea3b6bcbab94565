import { DEFAULT_GRACE, parseInvocation, UsageError } from "../src/args";
import { formatDuration, parseDuration } from "../src/duration";
import { EXIT_CODES } from "../src/index";
import { extensionThreshold } from "../src/run";

// The command line, parsed in-process: no Redis, no child process.

const NODES = "redis://10.0.0.1:6379,redis://10.0.0.2:6379,redis://10.0.0.3:6379";

/** Parse `args` with an empty environment. */
const parse = (args: string[], env: Record<string, string> = {}) => parseInvocation(args, env);

/** The options of `redlock run` for `args`. */
function runOptions(args: string[], env: Record<string, string> = {}) {
  const invocation = parse(["run", ...args], env);
  if (invocation.command !== "run") throw new Error(`not run: ${invocation.command}`);
  return invocation.options;
}

/** The options of `redlock semaphore run` for `args`. */
function semaphoreOptions(args: string[], env: Record<string, string> = {}) {
  const invocation = parse(["semaphore", "run", ...args], env);
  if (invocation.command !== "semaphore-run")
    throw new Error(`not semaphore run: ${invocation.command}`);
  return invocation.options;
}

/** The usage error that parsing `args` throws. */
function usageError(args: string[], env: Record<string, string> = {}): UsageError {
  try {
    parse(args, env);
  } catch (caught) {
    if (caught instanceof UsageError) return caught;
    throw caught;
  }
  throw new Error(`accepted: ${JSON.stringify(args)}`);
}

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2500", 2500],
    [" 10s ", 10_000],
    ["0", 0],
  ])("%j is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(["", "s", "-1s", "1d", "1.5ms", "10 s", "1e3", "abc", "9007199254740993"])(
    "%j is refused",
    (text) => {
      expect(() => parseDuration(text)).toThrow(RangeError);
    },
  );
});

describe("formatDuration", () => {
  test.each([
    [850, "850ms"],
    [29_149, "29.1s"],
    [60_000, "60.0s"],
    [725_000, "12m 5s"],
    [3_600_000, "60m"],
    [Number.POSITIVE_INFINITY, "no expiry"],
  ])("%d ms reads %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("redlock run", () => {
  test("the full command line", () => {
    expect(
      runOptions([
        "--nodes",
        NODES,
        "--resource",
        "a",
        "-r",
        "b",
        "--ttl",
        "30s",
        "--wait",
        "10s",
        "--fencing",
        "--json",
        "-q",
        "--grace",
        "2s",
        "--",
        "backup",
        "--full",
        "--",
        "-x",
      ]),
    ).toEqual({
      nodes: NODES.split(","),
      resources: ["a", "b"],
      ttl: 30_000,
      wait: { kind: "until", ms: 10_000 },
      fencing: true,
      json: true,
      quiet: true,
      grace: 2000,
      command: ["backup", "--full", "--", "-x"],
    });
  });

  test("defaults: the library's waiting, no fencing, text, 10 s of grace", () => {
    expect(runOptions(["--nodes", NODES, "-r", "a", "--ttl", "1s", "--", "true"])).toMatchObject({
      wait: { kind: "default" },
      fencing: false,
      json: false,
      quiet: false,
      grace: DEFAULT_GRACE,
    });
  });

  test("--no-wait: one try", () => {
    expect(
      runOptions(["--nodes", NODES, "-r", "a", "--ttl", "1s", "--no-wait", "--", "true"]).wait,
    ).toEqual({ kind: "none" });
  });

  test("nodes from REDLOCK_NODES, blanks and empty entries ignored; --nodes wins over it", () => {
    const env = { REDLOCK_NODES: " redis://a:1 , rediss://u:p@b:2/3,," };
    expect(runOptions(["-r", "a", "--ttl", "1s", "--", "true"], env).nodes).toEqual([
      "redis://a:1",
      "rediss://u:p@b:2/3",
    ]);
    expect(
      runOptions(["--nodes", "redis://c:3", "-r", "a", "--ttl", "1s", "--", "true"], env).nodes,
    ).toEqual(["redis://c:3"]);
  });

  test("--help anywhere before -- shows the help, even with other mistakes", () => {
    expect(parse(["run", "--bogus", "--help"])).toEqual({ command: "help", topic: "run" });
    // After "--", --help is the command's.
    expect(
      runOptions(["--nodes", NODES, "-r", "a", "--ttl", "1s", "--", "cmd", "--help"]),
    ).toMatchObject({ command: ["cmd", "--help"] });
  });

  test("a bad entry in REDLOCK_NODES is named by its position, never echoed", () => {
    const env = { REDLOCK_NODES: "redis://a:1,mysql://root:hunter2@db" };
    const error = (() => {
      try {
        runOptions(["-r", "a", "--ttl", "1s", "--", "true"], env);
      } catch (caught) {
        return caught as UsageError;
      }
      throw new Error("accepted");
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(
      "REDLOCK_NODES: entry 2 of 2 is not a redis:// or rediss:// URL with a host.",
    );
    expect(error.topic).toBe("run");
  });
});

describe("redlock semaphore run", () => {
  test("the full command line", () => {
    expect(
      semaphoreOptions([
        "--nodes",
        NODES,
        "--limit",
        "4",
        "--permits",
        "2",
        "-r",
        "uploads",
        "--ttl",
        "30s",
        "--no-wait",
        "--json",
        "--quiet",
        "--grace",
        "1s",
        "--",
        "upload",
        "--all",
      ]),
    ).toEqual({
      nodes: NODES.split(","),
      resources: ["uploads"],
      ttl: 30_000,
      wait: { kind: "none" },
      json: true,
      quiet: true,
      grace: 1000,
      command: ["upload", "--all"],
      limit: 4,
      permits: 2,
    });
  });

  test("defaults: one permit, the library's waiting, text, 10 s of grace", () => {
    expect(
      semaphoreOptions(["-r", "a", "--limit", "1", "--ttl", "1s", "--wait", "1m", "--", "true"], {
        REDLOCK_NODES: NODES,
      }),
    ).toMatchObject({
      permits: 1,
      limit: 1,
      wait: { kind: "until", ms: 60_000 },
      json: false,
      quiet: false,
      grace: DEFAULT_GRACE,
    });
    expect(
      semaphoreOptions(["--nodes", NODES, "-r", "a", "--limit", "3", "--ttl", "1s", "--", "true"])
        .wait,
    ).toEqual({ kind: "default" });
  });

  const valid = ["--nodes", NODES, "-r", "a", "--ttl", "1s"];
  test.each([
    [["--limit", "0"], '--limit: "0" is not a whole number of permits from 1.'],
    [["--limit", "1.5"], '--limit: "1.5" is not a whole number of permits from 1.'],
    [["--limit=-2"], '--limit: "-2" is not a whole number of permits from 1.'],
    [["--limit", "two"], '--limit: "two" is not a whole number of permits from 1.'],
    [["--limit", "2", "--permits", "0"], '--permits: "0" is not a whole number of permits from 1.'],
    [
      ["--limit", "2", "--permits", "3"],
      "--permits 3 is more than --limit 2: at most 2 permits can be held.",
    ],
    [[], "--limit is required."],
    [
      ["--limit", "2", "--fencing"],
      "--fencing is for locks: a semaphore's holders run side by side, with no fencing token.",
    ],
    [["--limit", "2", "-r", "b"], "a semaphore is one resource: give one --resource, not 2."],
  ])("%j is refused", (flags, message) => {
    const error = usageError(["semaphore", "run", ...valid, ...flags, "--", "true"]);
    expect(error.message).toBe(message);
    expect(error.topic).toBe("semaphore");
  });

  test("the shared checks of run, worded for semaphore run", () => {
    expect(
      usageError([
        "semaphore",
        "run",
        "--nodes",
        NODES,
        "--limit",
        "2",
        "--ttl",
        "1s",
        "--",
        "true",
      ]).message,
    ).toBe("no resource: give the semaphore's --resource NAME.");
    expect(usageError(["semaphore", "run", ...valid, "--limit", "2", "true"]).message).toBe(
      'unexpected argument "true": put the command after "--", as in "redlock semaphore run … -- command args".',
    );
  });

  test.each([
    [["semaphore"], 'no semaphore command given: try "redlock semaphore run".'],
    [["semaphore", "acquire"], 'unknown semaphore command "acquire": try "redlock semaphore run".'],
  ])("%j is refused", (args, message) => {
    const error = usageError(args);
    expect(error.message).toBe(message);
    expect(error.topic).toBe("semaphore");
  });
});

describe("redlock status", () => {
  test("resources as arguments and with --resource, in the order given", () => {
    expect(parse(["status", "--nodes", NODES, "b", "-r", "a", "c", "--json"])).toEqual({
      command: "status",
      options: { nodes: NODES.split(","), resources: ["b", "a", "c"], json: true },
    });
  });
});

describe("other commands", () => {
  test.each([
    [["--help"], { command: "help", topic: "main" }],
    [["-h"], { command: "help", topic: "main" }],
    [["help"], { command: "help", topic: "main" }],
    [["help", "status"], { command: "help", topic: "status" }],
    [["help", "semaphore"], { command: "help", topic: "semaphore" }],
    [["semaphore", "--help"], { command: "help", topic: "semaphore" }],
    [["semaphore", "run", "--bogus", "-h"], { command: "help", topic: "semaphore" }],
    [["--version"], { command: "version" }],
  ])("%j", (args, invocation) => {
    expect(parse(args)).toEqual(invocation);
  });
});

describe("extensionThreshold", () => {
  test.each([
    // A third of the TTL, at least 500 ms...
    [30_000, 10_000],
    [1000, 500],
    // ...but leaving 100 ms after the drift allowance before the first extension.
    [500, 500 - 7 - 100],
  ])("a %i ms lock is extended when %i ms are left", (ttl, threshold) => {
    expect(extensionThreshold(ttl, 0.01)).toBe(threshold);
  });
});

test("the exit codes are distinct", () => {
  const codes = Object.values(EXIT_CODES);
  expect(new Set(codes).size).toBe(codes.length);
  expect(EXIT_CODES).toMatchObject({ usage: 64, unreachable: 69, busy: 75, lost: 76 });
});
