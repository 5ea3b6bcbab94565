import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  child,
  commandLine,
  deadUrls,
  events,
  expectUnreachable,
  type Kind,
  runCli,
  useTestbed,
} from "./helpers";

// Usage errors, unreachable nodes, and the documentation of every flag.

const bed = useTestbed();

/** Nodes that are never contacted: the command line is refused first. */
const NOWHERE = "redis://127.0.0.1:1";

/** `redlock run -r x …flags` on NOWHERE (`flags` ends with the command, if any). */
const lockArgs = (...flags: string[]) => ["run", "--nodes", NOWHERE, "-r", "x", ...flags];

/** `redlock semaphore run -r x --ttl 1s …flags -- true` on NOWHERE. */
const semaphoreArgs = (...flags: string[]) =>
  commandLine("semaphore", NOWHERE, ["-r", "x", "--ttl", "1s", ...flags], ["true"]);

describe("usage errors: 64, one line on stderr, the command never runs", () => {
  test.each([
    ["no command", [], /^redlock: no command given\. \(see redlock --help\)$/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["help on nothing", ["help", "frobnicate"], /no help on "frobnicate"/],
    ["an unknown flag", ["run", "--bogus", "--", "true"], /Unknown option '--bogus'/],
    ["no --ttl", lockArgs("--", "true"), /--ttl is required/],
    [
      "a bad duration",
      lockArgs("--ttl", "30 seconds", "--", "true"),
      /--ttl: "30 seconds" is not a duration/,
    ],
    [
      "a TTL too short to extend",
      lockArgs("--ttl", "200ms", "--", "true"),
      /--ttl must be at least 500ms/,
    ],
    ["a bad --grace", lockArgs("--ttl", "1s", "--grace", "-1s", "--", "true"), /--grace/],
    ["no resource", ["run", "--nodes", NOWHERE, "--ttl", "1s", "--", "true"], /no resource/],
    [
      "a command without --",
      lockArgs("--ttl", "1s", "true"),
      /unexpected argument "true": put the command after "--"/,
    ],
    ["nothing after --", lockArgs("--ttl", "1s", "--"), /no command to run/],
    [
      "--wait with --no-wait",
      lockArgs("--ttl", "1s", "--wait", "1s", "--no-wait", "--", "true"),
      /--wait and --no-wait exclude each other/,
    ],
    ["no nodes", ["run", "-r", "x", "--ttl", "1s", "--", "true"], /no Redis nodes/],
    [
      "a URL that is not redis://",
      ["run", "--nodes", "http://user:hunter2@host", "-r", "x", "--ttl", "1s", "--", "true"],
      /--nodes: entry 1 of 1 is not a redis:\/\/ or rediss:\/\/ URL/,
    ],
    ["status without a resource", ["status", "--nodes", NOWHERE], /no resource/],
    [
      "a semaphore with --limit 0",
      semaphoreArgs("--limit", "0"),
      /--limit: "0" is not a whole number of permits from 1\. \(see redlock semaphore --help\)$/,
    ],
    [
      "more permits than the limit",
      semaphoreArgs("--permits", "3", "--limit", "2"),
      /--permits 3 is more than --limit 2/,
    ],
    [
      "a semaphore with --fencing",
      semaphoreArgs("--limit", "2", "--fencing"),
      /--fencing is for locks: a semaphore's holders run side by side/,
    ],
    [
      "a semaphore on two resources",
      semaphoreArgs("-r", "y", "--limit", "2"),
      /a semaphore is one resource: give one --resource, not 2/,
    ],
    ["a semaphore without --limit", semaphoreArgs(), /--limit is required/],
    ["semaphore without run", ["semaphore"], /no semaphore command given/],
    ["an unknown semaphore command", ["semaphore", "acquire"], /unknown semaphore command/],
  ])("%s", async (_, args, message) => {
    const result = await runCli(args);
    expect(result.status).toBe(64);
    expect(result.stdout.lines).toEqual([]);
    expect(result.stderr.lines).toHaveLength(1);
    expect(result.stderr.lines[0]).toMatch(/^redlock: /);
    expect(result.stderr.lines[0]).toMatch(message);
    expect(result.stderr.text).not.toContain("hunter2");
  });

  test("with --json, the usage error is a JSON line", async () => {
    const result = await runCli(["run", "--json", "--nodes", NOWHERE, "-r", "x", "--", "true"]);
    expect(result.status).toBe(64);
    expect(result.stderr.json).toEqual([
      { event: "usage", message: "--ttl is required. (see redlock run --help)" },
    ]);
  });

  test("the same server twice: refused before anything is locked", async () => {
    const node = bed.nodes[0]!.url;
    const result = await runCli(
      commandLine(
        "run",
        `${node},${node}/1`,
        ["-r", "usage:duplicate", "--ttl", "1s", "--json"],
        child("env"),
      ),
    );
    expect(result.status).toBe(64);
    expect(result.stdout.lines).toEqual([]);
    expect(result.stderr.json).toEqual([
      expect.objectContaining({ event: "usage", reason: "DUPLICATE_NODE" }),
    ]);
  });

  test("a semaphore usage error with --json is a JSON line, and the command never runs", async () => {
    const result = await runCli(
      commandLine(
        "semaphore",
        NOWHERE,
        ["--json", "-r", "x", "--ttl", "1s", "--limit", "2", "--fencing"],
        child("env"),
      ),
    );
    expect(result.status).toBe(64);
    expect(result.stdout.lines).toEqual([]);
    expect(result.stderr.json).toEqual([
      {
        event: "usage",
        message:
          "--fencing is for locks: a semaphore's holders run side by side, with no fencing token. " +
          "(see redlock semaphore --help)",
      },
    ]);
  });

  test.each<[Kind, string[]]>([
    ["run", []],
    ["semaphore", ["--limit", "2"]],
  ])(
    "%s: a resource name the library reserves is refused before anything is held",
    async (command, flags) => {
      const result = await runCli(
        commandLine(
          command,
          bed.urls,
          ["-r", "__redlock__:mine", "--ttl", "1s", "--json", ...flags],
          child("env"),
        ),
      );
      expect(result.status).toBe(64);
      expect(result.stdout.lines).toEqual([]);
      expect(events(result)).toEqual(["usage"]);
    },
  );
});

describe("unreachable nodes: 69", () => {
  test("nothing listens on any node: exit 69 at once with --no-wait, the command never runs", async () => {
    const dead = await deadUrls(3);
    const result = await runCli(
      commandLine(
        "run",
        dead.join(","),
        ["-r", "unreachable:all", "--ttl", "30s", "--no-wait", "--json"],
        child("env"),
      ),
    );
    expectUnreachable(result);
    expect(result.stderr.json[0]!.message).toMatch(/connection refused/);
  });

  test("a majority unreachable, with the default retries: 69", async () => {
    const dead = await deadUrls(2);
    const result = await runCli(
      commandLine(
        "run",
        [bed.nodes[0]!.url, ...dead].join(","),
        ["-r", "unreachable:majority", "--ttl", "30s"],
        child("env"),
      ),
    );
    expect(result.status).toBe(69);
    expect(result.stdout.lines).toEqual([]);
    expect(result.stderr.text).toMatch(/^redlock: unreachable: Could not acquire/);
  });
});

describe("help", () => {
  /** Every flag and variable, which `redlock --help` and the README must both describe. */
  const DOCUMENTED = [
    "--nodes",
    "--resource",
    "-r,",
    "--ttl",
    "--wait",
    "--no-wait",
    "--fencing",
    "--grace",
    "--json",
    "--quiet",
    "-q,",
    "--help",
    "--version",
    "semaphore run",
    "--limit",
    "--permits",
    "REDLOCK_NODES",
    "REDLOCK_RESOURCE",
    "REDLOCK_EXPIRES_AT",
    "REDLOCK_FENCING_TOKEN",
    "REDLOCK_SEMAPHORE_LIMIT",
    "REDLOCK_PERMITS",
  ];
  const EXIT_CODES = ["64", "69", "70", "75", "76", "126", "127", "128"];

  test("redlock --help documents every flag, variable and exit status, on stdout", async () => {
    const result = await runCli(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stderr.lines).toEqual([]);
    for (const word of [...DOCUMENTED, ...EXIT_CODES]) expect(result.stdout.text).toContain(word);
  });

  test("the README documents every flag, variable and exit status", () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    for (const word of [...DOCUMENTED, ...EXIT_CODES]) expect(readme).toContain(word);
  });

  test.each([
    [["run", "--help"], "redlock run: take the lock"],
    [["status", "-h"], "redlock status: what the nodes hold"],
    [["help", "run"], "redlock run: take the lock"],
    [["help", "semaphore"], "redlock semaphore run: take P permits"],
    [["semaphore", "--help"], "redlock semaphore run: take P permits"],
    [["semaphore", "run", "-h"], "redlock semaphore run: take P permits"],
  ])("%j shows the help of its command", async (args, heading) => {
    const result = await runCli(args);
    expect(result.status).toBe(0);
    expect(result.stdout.text).toContain(heading);
  });

  test("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as {
      version: string;
    };
    const result = await runCli(["--version"]);
    expect(result.status).toBe(0);
    expect(result.stdout.lines).toEqual([version]);
  });
});
