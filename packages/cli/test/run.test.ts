import { type RedisNode, respCall, startRedis } from "@redlock/testbed";
import {
  child,
  commandLine,
  events,
  finish,
  keyCount,
  runCli,
  startCli,
  started,
  storedValue,
  useTestbed,
} from "./helpers";

// `redlock run` on three real redis-server processes: the command's environment, its exit
// status, and the lock released afterwards.

const bed = useTestbed();

/** `redlock run` on the test bed with `flags`, running `command`. */
const run = (flags: string[], command: string[]) => commandLine("run", bed.urls, flags, command);

/** The environment the `env` or `hold` command printed. */
function printedEnv(lines: { json: Record<string, unknown>[] }): Record<string, string> {
  const message = lines.json.find((line) => line.env !== undefined);
  if (!message) throw new Error("the command printed no environment");
  return message.env as Record<string, string>;
}

test("runs the command with the lock's environment, then releases the lock", async () => {
  const before = Date.now();
  const result = await runCli(
    run(["--resource", "run:env", "--ttl", "30s", "--json"], child("env")),
    // Inherited from an outer `redlock run --fencing`: not passed on without --fencing.
    { REDLOCK_FENCING_TOKEN: "99" },
  );
  const after = Date.now();

  expect(result).toMatchObject({ status: 0, signal: null });
  const env = printedEnv(result.stdout);
  expect(env.REDLOCK_RESOURCE).toBe("run:env");
  expect(env.REDLOCK_FENCING_TOKEN).toBeUndefined();
  const expiresAt = Number(env.REDLOCK_EXPIRES_AT);
  expect(Number.isInteger(expiresAt)).toBe(true);
  expect(expiresAt).toBeGreaterThan(before);
  expect(expiresAt).toBeLessThanOrEqual(after + 30_000);
  expect(events(result)).toEqual(["acquired", "started", "exited", "released"]);
  expect(result.stderr.json[0]).toEqual({
    event: "acquired",
    resources: ["run:env"],
    ttl: 30_000,
    expiresAt,
  });
  expect(result.stderr.json[3]).toEqual({ event: "released", outcome: "released" });
  expect(await keyCount(bed.nodes, "run:env")).toBe(0);
});

test.each([0, 3, 42])("the command's exit status %i is redlock's", async (status) => {
  const result = await runCli(
    run(["--resource", `run:status:${status}`, "--ttl", "30s"], child("env", String(status))),
  );
  expect(result.status).toBe(status);
  expect(result.stderr.text).toContain(`redlock: the command ended with status ${status}`);
  expect(await keyCount(bed.nodes, `run:status:${status}`)).toBe(0);
});

test.each([
  ["SIGTERM", 143],
  ["SIGKILL", 137],
])(
  "a command ended by %s: 128 + the signal number, as a shell reports it",
  async (signal, status) => {
    const resource = `run:raise:${signal}`;
    const result = await runCli(
      run(["--resource", resource, "--ttl", "30s", "--json"], child("raise", signal)),
    );
    expect(result.status).toBe(status);
    expect(result.stderr.json).toContainEqual({ event: "exited", code: null, signal, status });
    expect(await keyCount(bed.nodes, resource)).toBe(0);
  },
);

test("several resources, nodes from REDLOCK_NODES: all are held while the command runs", async () => {
  const cli = startCli(
    ["run", "-r", "run:many:a", "--resource", "run:many:b", "--ttl", "30s", "--", ...child("hold")],
    { REDLOCK_NODES: bed.urls },
  );
  const first = await started(cli, "the command ran");
  expect((first.env as Record<string, string>).REDLOCK_RESOURCE).toBe("run:many:a,run:many:b");
  expect(await keyCount(bed.nodes, "run:many:a")).toBe(3);
  expect(await keyCount(bed.nodes, "run:many:b")).toBe(3);

  await finish(cli);
  expect(await keyCount(bed.nodes, "run:many:a")).toBe(0);
  expect(await keyCount(bed.nodes, "run:many:b")).toBe(0);
});

test("--fencing: REDLOCK_FENCING_TOKEN grows from one lock to the next", async () => {
  const tokens: number[] = [];
  for (let i = 0; i < 2; i++) {
    const result = await runCli(
      run(["--resource", "run:fenced", "--ttl", "30s", "--fencing", "--json"], child("env")),
    );
    expect(result.status).toBe(0);
    const token = Number(printedEnv(result.stdout).REDLOCK_FENCING_TOKEN);
    expect(Number.isSafeInteger(token)).toBe(true);
    expect(result.stderr.json[0]).toMatchObject({ event: "acquired", fencingToken: token });
    tokens.push(token);
  }
  expect(tokens[1]).toBeGreaterThan(tokens[0]!);
});

test.each([
  ["text", []],
  ["json", ["--json"]],
])("the lock's value is never passed to the command nor printed (%s)", async (_, flags) => {
  const resource = `run:secret:${flags.length}`;
  const cli = startCli(run(["--resource", resource, "--ttl", "30s", ...flags], child("hold")));
  await started(cli, "the command ran");
  const value = await storedValue(bed.nodes[0]!, resource);

  await finish(cli);
  expect(JSON.stringify(printedEnv(cli.stdout))).not.toContain(value);
  expect(cli.stdout.text).not.toContain(value);
  expect(cli.stderr.text).not.toContain(value);
});

test("a command that does not exist: 127, and the lock is released", async () => {
  const result = await runCli(
    run(["--resource", "run:missing", "--ttl", "30s"], ["redlock-test-no-such-command"]),
  );
  expect(result.status).toBe(127);
  expect(result.stderr.text).toContain(
    'redlock: cannot run "redlock-test-no-such-command": ENOENT',
  );
  expect(await keyCount(bed.nodes, "run:missing")).toBe(0);
});

describe("a node with a password", () => {
  const PASSWORD = "s3cret-pa55word";
  let secured: RedisNode;

  beforeAll(async () => {
    secured = await startRedis();
    await respCall(secured, "CONFIG", "SET", "requirepass", PASSWORD);
  });

  /** `redlock run` on the secured node, logging in with `password`. */
  const runAs = (password: string, flags: string[] = []) =>
    runCli(
      commandLine(
        "run",
        `redis://:${password}@127.0.0.1:${secured.port}`,
        ["--resource", "run:auth", "--ttl", "30s", ...flags],
        child("env"),
      ),
    );

  test("the password in the URL is used, and never printed", async () => {
    const result = await runAs(PASSWORD);
    expect(result.status).toBe(0);
    expect(result.stderr.text).toContain("released run:auth (released)");
    expect(result.stderr.text).not.toContain(PASSWORD);
  });

  test("a wrong password: unreachable (69), and the password is not printed", async () => {
    const result = await runAs(`not-the-${PASSWORD}`, ["--no-wait"]);
    expect(result.status).toBe(69);
    expect(result.stdout.lines).toEqual([]);
    expect(result.stderr.text).toMatch(/^redlock: unreachable: /);
    expect(result.stderr.text).not.toContain(PASSWORD);
  });
});
