import { respCall } from "@redlock/testbed";
import {
  type Cli,
  events,
  finish,
  keyCount,
  started,
  startHolder,
  untilSomeoneWaits,
  useTestbed,
} from "./helpers";

// Signals sent to `redlock run` reach the command; a signal while waiting gives up cleanly; a
// command that ignores SIGTERM after the lock is lost is killed after --grace.

const bed = useTestbed();

/** Start `redlock run --json` on the test bed with `flags`, running the fixture in `mode`. */
const runner = (resource: string, flags: string[], mode = "hold"): Cli =>
  startHolder("run", bed.urls, resource, flags, mode);

test.each([
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const)(
  "%s is forwarded to the command; the lock is released; exit %i",
  async (signal, status) => {
    const resource = `signal:${signal}`;
    const cli = runner(resource, ["--ttl", "30s"]);
    await started(cli);

    cli.process.kill(signal);
    expect(await cli.exited).toEqual({ status, signal: null });
    expect(cli.stdout.json).toContainEqual({ signal });
    expect(cli.stderr.json).toContainEqual({ event: "signal", signal });
    expect(cli.stderr.json).toContainEqual({ event: "exited", code: null, signal, status });
    expect(await keyCount(bed.nodes, resource)).toBe(0);
  },
);

test("SIGINT while waiting for the lock: 130, the command never starts, the holder keeps it", async () => {
  const holder = runner("signal:waiting", ["--ttl", "30s", "--no-wait"]);
  await started(holder);
  const waiter = runner("signal:waiting", ["--ttl", "30s", "--wait", "5m"]);
  await untilSomeoneWaits(bed.nodes[0]!, "signal:waiting");

  waiter.process.kill("SIGINT");
  expect(await waiter.exited).toEqual({ status: 130, signal: null });
  expect(waiter.stdout.lines).toEqual([]);
  expect(events(waiter)).toEqual(["interrupted"]);
  expect(await keyCount(bed.nodes, "signal:waiting")).toBe(3);

  await finish(holder);
  expect(await keyCount(bed.nodes, "signal:waiting")).toBe(0);
});

test("a lost lock and a command that ignores SIGTERM: SIGKILL after --grace, exit 76", async () => {
  const cli = runner("signal:stubborn", ["--ttl", "1s", "--grace", "300ms"], "stubborn");
  await started(cli);
  // The keys vanish (a flush, say): the next extension finds the lock gone.
  await Promise.all(bed.nodes.map((node) => respCall(node, "DEL", "signal:stubborn")));

  expect(await cli.exited).toEqual({ status: 76, signal: null });
  expect(cli.stdout.json).toContainEqual({ signal: "SIGTERM" });
  expect(events(cli)).toEqual(["acquired", "started", "lost", "killed", "exited", "released"]);
  expect(cli.stderr.json).toContainEqual({
    event: "exited",
    code: null,
    signal: "SIGKILL",
    status: 137,
  });
});
