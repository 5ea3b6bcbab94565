import { type RedisNode, startRedisNodes, teardownAll } from "@redlock/testbed";
import {
  type Cli,
  child,
  events,
  keyCount,
  killAll,
  nodeList,
  startCli,
  untilKeyGone,
  untilSomeoneWaits,
} from "./helpers";

// Several `redlock run` processes on one resource: cron-style races, waiting, and a holder that
// froze past its TTL. Every step waits for something observable: a line, an exit, a key.

let nodes: RedisNode[];
let urls: string;

beforeAll(async () => {
  nodes = await startRedisNodes(3);
  urls = nodeList(nodes);
});
afterEach(() => killAll());
afterAll(() => teardownAll());

/** Start `redlock run --json` on the test bed with `flags`, holding until its input ends. */
function holder(resource: string, flags: string[]): Cli {
  return startCli([
    "run",
    "--nodes",
    urls,
    "--resource",
    resource,
    "--json",
    ...flags,
    "--",
    ...child("hold"),
  ]);
}

/** Resolves once the command of `cli` runs. */
const started = (cli: Cli) => cli.stdout.waitForJson((line) => line.started === true, "start");

test("two cron-style runs with --no-wait: exactly one runs the command, the other is busy", async () => {
  const racers = [
    holder("race:nightly", ["--ttl", "30s", "--no-wait"]),
    holder("race:nightly", ["--ttl", "30s", "--no-wait"]),
  ];
  // The winner holds until its input ends, so the loser can only have found the lock taken.
  const first = await Promise.race(
    racers.map((cli, i) => cli.exited.then((exit) => ({ exit, i }))),
  );
  const loser = racers[first.i]!;
  const winner = racers[1 - first.i]!;
  expect(first.exit.status).toBe(75);
  await started(winner);
  expect(loser.stdout.lines).toEqual([]);
  expect(events(loser)).toEqual(["busy"]);
  expect(loser.stderr.json[0]!.message).toMatch(
    /^busy: Could not acquire .*"race:nightly".*held by another lock/,
  );

  winner.endInput();
  expect((await winner.exited).status).toBe(0);
  expect(await keyCount(nodes, "race:nightly")).toBe(0);
});

test("--wait: a second run waits, and runs once the first has finished", async () => {
  const first = holder("wait:job", ["--ttl", "30s", "--no-wait"]);
  await started(first);
  const second = holder("wait:job", ["--ttl", "30s", "--wait", "1m"]);
  // The second one tried, found the lock held, and now listens for its release.
  await untilSomeoneWaits(nodes[0]!, "wait:job");
  expect(second.stdout.lines).toEqual([]);

  first.endInput();
  expect((await first.exited).status).toBe(0);
  await started(second);
  expect(events(second)).toEqual(["acquired", "started"]);

  second.endInput();
  expect((await second.exited).status).toBe(0);
  expect(await keyCount(nodes, "wait:job")).toBe(0);
});

test("--wait that runs out while the lock stays held: busy (75), the command never ran", async () => {
  const first = holder("wait:timeout", ["--ttl", "30s", "--no-wait"]);
  await started(first);
  const second = holder("wait:timeout", ["--ttl", "30s", "--wait", "800ms"]);
  expect((await second.exited).status).toBe(75);
  expect(second.stdout.lines).toEqual([]);
  expect(events(second)).toEqual(["busy"]);

  first.endInput();
  expect((await first.exited).status).toBe(0);
});

test("with neither --wait nor --no-wait: the library's retries, then busy (75)", async () => {
  const first = holder("wait:default", ["--ttl", "30s", "--no-wait"]);
  await started(first);
  const second = holder("wait:default", ["--ttl", "30s"]);
  expect((await second.exited).status).toBe(75);
  expect(second.stdout.lines).toEqual([]);

  first.endInput();
  expect((await first.exited).status).toBe(0);
});

test("a holder frozen past its TTL loses the lock: its command is stopped, exit 76", async () => {
  const frozen = holder("frozen:job", ["--ttl", "3s", "--no-wait"]);
  await started(frozen);
  process.kill(frozen.pid, "SIGSTOP");
  // Frozen, it cannot extend: the keys expire, and a second run takes the lock.
  await untilKeyGone(nodes, "frozen:job");
  const taker = holder("frozen:job", ["--ttl", "30s", "--no-wait"]);
  await started(taker);

  process.kill(frozen.pid, "SIGCONT");
  expect((await frozen.exited).status).toBe(76);
  // The command heard SIGTERM (and ended by it).
  expect(frozen.stdout.json).toContainEqual({ signal: "SIGTERM" });
  expect(events(frozen)).toEqual(["acquired", "started", "lost", "exited", "released"]);
  const lost = frozen.stderr.json.find((line) => line.event === "lost")!;
  expect(lost.message).toMatch(/^lost the lock: /);
  expect(frozen.stderr.json).toContainEqual({
    event: "exited",
    code: null,
    signal: "SIGTERM",
    status: 143,
  });
  // Its release left the new holder's lock alone.
  expect(await keyCount(nodes, "frozen:job")).toBe(3);

  taker.endInput();
  expect((await taker.exited).status).toBe(0);
  expect(await keyCount(nodes, "frozen:job")).toBe(0);
});
