import { teardownAll } from "@redlock/testbed";
import {
  type Cli,
  child,
  commandLine,
  deadUrls,
  killAll,
  runCli,
  startCli,
  started,
  storedValue,
  useRedisNodes,
} from "./helpers";

// `redlock status` while another `redlock run` holds a resource.

// No afterEach(killAll): the holder started here runs for the whole file.
const bed = useRedisNodes();
let holder: Cli;
let value: string;

beforeAll(async () => {
  holder = startCli(
    commandLine("run", bed.urls, ["-r", "status:held", "--ttl", "1m"], child("hold")),
  );
  await started(holder, "the holder ran");
  value = await storedValue(bed.nodes[0]!, "status:held");
});
afterAll(async () => {
  holder.endInput();
  await holder.exited;
  await killAll();
  await teardownAll();
});

test("a table: held and free resources, exit 0, never the lock's value", async () => {
  const result = await runCli(["status", "--nodes", bed.urls, "status:held", "status:free"]);
  expect(result.status).toBe(0);
  expect(result.stderr.lines).toEqual([]);
  const [header, held, free] = result.stdout.lines;
  expect(header).toMatch(/^RESOURCE\s+STATE\s+VALIDITY\s+NODES$/);
  expect(held).toMatch(/^status:held\s+held\s+\d+(\.\d)?s\s+held 3\/3$/);
  expect(free).toMatch(/^status:free\s+free\s+-\s+free 3\/3$/);
  expect(result.stdout.lines).toHaveLength(3);
  expect(result.stdout.text).not.toContain(value);
});

test("--json: one object with each resource's quorum view and each node's report", async () => {
  const result = await runCli([
    "status",
    "--nodes",
    bed.urls,
    "--json",
    "status:held",
    "--resource",
    "status:free",
  ]);
  expect(result.status).toBe(0);
  expect(result.stdout.lines).toHaveLength(1);
  expect(result.stdout.text).not.toContain(value);
  const output = JSON.parse(result.stdout.lines[0]!) as {
    resources: { resource: string; validity: number }[];
  };
  const node = (url: string, state: string) => ({
    node: url,
    state,
    ttl: state === "held" ? expect.any(Number) : 0,
    mine: false,
  });
  expect(output).toEqual({
    resources: [
      {
        resource: "status:held",
        state: "held",
        mine: false,
        validity: expect.any(Number),
        nodes: bed.nodes.map((n) => node(n.url, "held")),
      },
      {
        resource: "status:free",
        state: "free",
        mine: false,
        validity: 0,
        nodes: bed.nodes.map((n) => node(n.url, "free")),
      },
    ],
  });
  expect(output.resources[0]!.validity).toBeGreaterThan(0);
  expect(output.resources[0]!.validity).toBeLessThanOrEqual(60_000);
});

test("a node down: it is reported as failed, the quorum still sees the lock", async () => {
  const [dead] = await deadUrls(1);
  const list = [bed.nodes[0]!.url, bed.nodes[1]!.url, dead!].join(",");
  const text = await runCli(["status", "--nodes", list, "status:held"]);
  expect(text.status).toBe(0);
  expect(text.stdout.lines[1]).toMatch(/^status:held\s+held\s+\S+\s+held 2\/3, failed 1\/3$/);
  expect(text.stderr.lines).toEqual([
    expect.stringMatching(/^redlock: \[redis:\/\/127\.0\.0\.1:\d+\] connection refused/),
  ]);

  const json = await runCli(["status", "--nodes", list, "--json", "status:held"]);
  expect(json.status).toBe(0);
  const [resource] = (JSON.parse(json.stdout.lines[0]!) as { resources: unknown[] }).resources;
  expect(resource).toMatchObject({ state: "held" });
  expect((resource as { nodes: unknown[] }).nodes[2]).toEqual({
    node: dead,
    state: "failed",
    ttl: 0,
    mine: false,
    error: { code: "NODE_UNREACHABLE", message: expect.stringContaining("connection refused") },
  });
});

test("every node down: state unknown, still exit 0", async () => {
  const dead = await deadUrls(3);
  const result = await runCli(["status", "--nodes", dead.join(","), "--json", "status:held"]);
  expect(result.status).toBe(0);
  const [resource] = (JSON.parse(result.stdout.lines[0]!) as { resources: unknown[] }).resources;
  expect(resource).toMatchObject({ resource: "status:held", state: "unknown", validity: 0 });
});
