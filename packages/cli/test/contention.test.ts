import {
  type Cli,
  events,
  expectBusy,
  finish,
  keyCount,
  started,
  startHolder,
  untilKeyGone,
  untilSomeoneWaits,
  useTestbed,
} from "./helpers";

// Several `redlock run` processes on one resource: cron-style races, waiting, and a holder that
// froze past its TTL. Every step waits for something observable: a line, an exit, a key.

const bed = useTestbed();

/** Start `redlock run --json` on the test bed with `flags`, holding until its input ends. */
const holder = (resource: string, flags: string[]): Cli =>
  startHolder("run", bed.urls, resource, flags);

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

  await finish(winner);
  expect(await keyCount(bed.nodes, "race:nightly")).toBe(0);
});

test("--wait: a second run waits, and runs once the first has finished", async () => {
  const first = holder("wait:job", ["--ttl", "30s", "--no-wait"]);
  await started(first);
  const second = holder("wait:job", ["--ttl", "30s", "--wait", "1m"]);
  // The second one tried, found the lock held, and now listens for its release.
  await untilSomeoneWaits(bed.nodes[0]!, "wait:job");
  expect(second.stdout.lines).toEqual([]);

  await finish(first);
  await started(second);
  expect(events(second)).toEqual(["acquired", "started"]);

  await finish(second);
  expect(await keyCount(bed.nodes, "wait:job")).toBe(0);
});

test.each([
  [
    "--wait that runs out while the lock stays held: busy (75), the command never ran",
    "wait:timeout",
    ["--wait", "800ms"],
  ],
  ["with neither --wait nor --no-wait: the library's retries, then busy (75)", "wait:default", []],
])("%s", async (_, resource, flags) => {
  const first = holder(resource, ["--ttl", "30s", "--no-wait"]);
  await started(first);
  await expectBusy(holder(resource, ["--ttl", "30s", ...flags]));

  await finish(first);
});

test("a holder frozen past its TTL loses the lock: its command is stopped, exit 76", async () => {
  const frozen = holder("frozen:job", ["--ttl", "3s", "--no-wait"]);
  await started(frozen);
  process.kill(frozen.pid, "SIGSTOP");
  // Frozen, it cannot extend: the keys expire, and a second run takes the lock.
  await untilKeyGone(bed.nodes, "frozen:job");
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
  expect(await keyCount(bed.nodes, "frozen:job")).toBe(3);

  await finish(taker);
  expect(await keyCount(bed.nodes, "frozen:job")).toBe(0);
});
