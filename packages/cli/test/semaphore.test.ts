import { respCall, startRedis } from "@redlock/testbed";
import {
  type Cli,
  child,
  commandLine,
  deadUrls,
  events,
  expectBusy,
  expectUnreachable,
  finish,
  keyCount,
  runCli,
  started,
  startHolder,
  untilSomeoneWaits,
  useTestbed,
} from "./helpers";

// `redlock semaphore run` on real redis-server processes: at most --limit permits are held at
// once, a waiter runs when a permit is given back, --permits takes several, and the semaphore's
// key is gone once every holder has exited. Every step waits for something observable: a line
// from the command, an exit, a subscriber, a key.

const bed = useTestbed();

/**
 * Start `redlock semaphore run --json` on `on` (the three nodes unless given) with `flags`,
 * running the fixture in `mode`: by default it holds its permits until its input ends.
 */
const holder = (resource: string, flags: string[], on = bed.urls, mode = "hold"): Cli =>
  startHolder("semaphore", on, resource, flags, mode);

test("limit 2, three runs at once with --no-wait: exactly two run, the third is busy (75)", async () => {
  // One node serializes the three attempts, so exactly two are granted whatever the timing. (On
  // several nodes, racers that each win on different nodes can all miss the quorum.)
  const node = await startRedis();
  const racers = [0, 1, 2].map(() =>
    holder("sem:race", ["--limit", "2", "--ttl", "30s", "--no-wait"], node.url),
  );
  // Winners hold until their input ends: the first to exit can only have found no permit free.
  const first = await Promise.race(
    racers.map((cli, i) => cli.exited.then((exit) => ({ exit, i }))),
  );
  const loser = racers[first.i]!;
  const winners = racers.filter((_, i) => i !== first.i);
  await expectBusy(loser);
  expect(loser.stderr.json[0]).toMatchObject({ event: "busy", code: "RESOURCE_LOCKED" });
  expect(loser.stderr.json[0]!.message).toMatch(
    /^busy: no free permit of sem:race \(limit 2\): Could not acquire .*"sem:race"/,
  );
  await Promise.all(winners.map((cli) => started(cli)));
  expect(await keyCount([node], "sem:race")).toBe(1);

  await finish(...winners);
  expect(await keyCount([node], "sem:race")).toBe(0);
});

test("limit 2 on three nodes: two hold, a third with --no-wait is busy, one with --wait runs after a holder finishes", async () => {
  const a = holder("sem:wait", ["--limit", "2", "--ttl", "30s", "--no-wait"]);
  await started(a);
  const b = holder("sem:wait", ["--limit", "2", "--ttl", "30s", "--no-wait"]);
  await started(b);

  await expectBusy(holder("sem:wait", ["--limit", "2", "--ttl", "30s", "--no-wait"]));

  const waiter = holder("sem:wait", ["--limit", "2", "--ttl", "30s", "--wait", "5m"]);
  // It tried, found no permit free, and now listens for one to be given back.
  await untilSomeoneWaits(bed.nodes[0]!, "sem:wait");
  expect(waiter.stdout.lines).toEqual([]);

  await finish(a);
  await started(waiter);
  expect(events(waiter)).toEqual(["acquired", "started"]);

  await finish(b, waiter);
  expect(await keyCount(bed.nodes, "sem:wait")).toBe(0);
});

test("--wait that runs out while no permit is freed: busy (75), the command never ran", async () => {
  const a = holder("sem:timeout", ["--limit", "1", "--ttl", "30s", "--no-wait"]);
  await started(a);
  await expectBusy(holder("sem:timeout", ["--limit", "1", "--ttl", "30s", "--wait", "800ms"]));

  await finish(a);
  expect(await keyCount(bed.nodes, "sem:timeout")).toBe(0);
});

test("--permits 2 of limit 2 excludes any other holder, and needs every permit free", async () => {
  const whole = holder("sem:whole", ["--limit", "2", "--permits", "2", "--ttl", "30s"]);
  expect((await started(whole)).env).toMatchObject({ REDLOCK_PERMITS: "2" });
  expect(whole.stderr.json[0]).toMatchObject({ event: "acquired", limit: 2, permits: 2 });

  await expectBusy(holder("sem:whole", ["--limit", "2", "--ttl", "30s", "--no-wait"]));
  await expectBusy(
    holder("sem:whole", ["--limit", "2", "--permits", "2", "--ttl", "30s", "--no-wait"]),
  );
  // A lock on the same resource is kept out too.
  const lock = await runCli(
    commandLine("run", bed.urls, ["-r", "sem:whole", "--ttl", "30s", "--no-wait"], child("env")),
  );
  expect(lock.status).toBe(75);
  expect(lock.stdout.lines).toEqual([]);
  await finish(whole);

  // The other way round: one permit held leaves too few for --permits 2.
  const one = holder("sem:whole", ["--limit", "2", "--ttl", "30s", "--no-wait"]);
  await started(one);
  const two = holder("sem:whole", ["--limit", "2", "--permits", "2", "--ttl", "30s", "--no-wait"]);
  await expectBusy(two);
  expect(two.stderr.json[0]!.message).toMatch(/^busy: fewer than 2 free permits of sem:whole/);

  await finish(one);
  expect(await keyCount(bed.nodes, "sem:whole")).toBe(0);
});

test("the command's environment, its exit status, and the permits given back", async () => {
  const before = Date.now();
  const result = await runCli(
    commandLine(
      "semaphore",
      bed.urls,
      ["-r", "sem:env", "--limit", "3", "--ttl", "30s", "--json"],
      child("env", "3"),
    ),
    // Inherited from outer runs: they describe another resource, so they are not passed on.
    { REDLOCK_FENCING_TOKEN: "99", REDLOCK_PERMITS: "7", REDLOCK_SEMAPHORE_LIMIT: "9" },
  );
  const after = Date.now();

  expect(result).toMatchObject({ status: 3, signal: null });
  const env = result.stdout.json[0]!.env as Record<string, string>;
  expect(env).toMatchObject({
    REDLOCK_RESOURCE: "sem:env",
    REDLOCK_SEMAPHORE_LIMIT: "3",
    REDLOCK_PERMITS: "1",
  });
  expect(env.REDLOCK_FENCING_TOKEN).toBeUndefined();
  const expiresAt = Number(env.REDLOCK_EXPIRES_AT);
  expect(expiresAt).toBeGreaterThan(before);
  expect(expiresAt).toBeLessThanOrEqual(after + 30_000);
  expect(result.stderr.json).toEqual([
    { event: "acquired", resources: ["sem:env"], ttl: 30_000, expiresAt, limit: 3, permits: 1 },
    { event: "started", pid: expect.any(Number) },
    { event: "exited", code: 3, signal: null, status: 3 },
    { event: "released", outcome: "released" },
  ]);
  expect(await keyCount(bed.nodes, "sem:env")).toBe(0);
});

test("text output names the permits", async () => {
  const result = await runCli(
    ["semaphore", "run", "-r", "sem:text", "--limit", "2", "--ttl", "30s", "--", ...child("env")],
    { REDLOCK_NODES: bed.urls },
  );
  expect(result.status).toBe(0);
  expect(result.stderr.lines).toEqual([
    expect.stringMatching(
      /^redlock: acquired 1 of 2 permits of sem:text for 30\.0s \(until \S+Z, extended while the command runs\)$/,
    ),
    expect.stringMatching(/^redlock: started "/),
    "redlock: the command ended with status 0",
    "redlock: released 1 of 2 permits of sem:text (released)",
  ]);
});

test("SIGTERM is forwarded to the command; the permits are given back; exit 143", async () => {
  const cli = holder("sem:signal", ["--limit", "2", "--ttl", "30s"]);
  await started(cli);

  cli.process.kill("SIGTERM");
  expect(await cli.exited).toEqual({ status: 143, signal: null });
  expect(cli.stdout.json).toContainEqual({ signal: "SIGTERM" });
  expect(events(cli)).toEqual(["acquired", "started", "signal", "exited", "released"]);
  expect(await keyCount(bed.nodes, "sem:signal")).toBe(0);
});

test("permits lost while the command runs: SIGTERM, then SIGKILL after --grace, exit 76", async () => {
  const cli = holder(
    "sem:lost",
    ["--limit", "2", "--ttl", "1s", "--grace", "300ms"],
    bed.urls,
    "stubborn",
  );
  await started(cli);
  // The key vanishes (a flush, say): the next extension finds the permits gone.
  await Promise.all(bed.nodes.map((node) => respCall(node, "DEL", "sem:lost")));

  expect(await cli.exited).toEqual({ status: 76, signal: null });
  expect(cli.stdout.json).toContainEqual({ signal: "SIGTERM" });
  expect(events(cli)).toEqual(["acquired", "started", "lost", "killed", "exited", "released"]);
  const lost = cli.stderr.json.find((line) => line.event === "lost")!;
  expect(lost.message).toMatch(/^lost the permit: /);
  expect(await keyCount(bed.nodes, "sem:lost")).toBe(0);
});

test("limit 2 on three nodes with one down: no grant without every node, unreachable (69)", async () => {
  const [dead] = await deadUrls(1);
  const result = await runCli(
    commandLine(
      "semaphore",
      [bed.nodes[0]!.url, bed.nodes[1]!.url, dead!].join(","),
      ["-r", "sem:degraded", "--limit", "2", "--ttl", "30s", "--no-wait", "--json"],
      child("env"),
    ),
  );
  expectUnreachable(result);
  expect(await keyCount(bed.nodes, "sem:degraded")).toBe(0);
});
