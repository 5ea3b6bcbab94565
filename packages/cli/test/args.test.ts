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
    [["--version"], { command: "version" }],
    [["semaphore", "run"], { command: "semaphore" }],
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
