import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type LockScript, Redlock, type ScriptRunner } from "../src";
import { FakeClock, MemoryRunner } from "../src/testing";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * A node whose requests never settle, as a frozen server looks to a driver: the driver keeps each
 * request's callbacks in its queue (here: `queue`) until the connection is gone.
 */
function frozenRunner(name: string, sent: WeakRef<object>[]) {
  const queue: ((value: unknown) => void)[] = [];
  const runner: ScriptRunner = {
    name,
    run(_script: LockScript, _keys: readonly string[], args: readonly (string | number)[]) {
      sent.push(new WeakRef(args));
      return new Promise((resolve) => queue.push(resolve));
    },
  };
  return { runner, queue };
}

test("a request stuck in a frozen node's queue does not keep its attempt or arguments alive", async () => {
  const clock = new FakeClock();
  const sent: WeakRef<object>[] = [];
  const frozen = frozenRunner("frozen", sent);
  const live = [0, 1].map((i) => new MemoryRunner({ name: `n${i}`, clock }));
  const redlock = new Redlock([...live, frozen.runner], { clock, nodeTimeout: 100 });

  // In a function of its own, so no variable of the test keeps a handle or a result alive.
  const cycle = async (i: number) => {
    const lock = await redlock.acquire([`job:${i}`], 10_000);
    const acquired = Promise.all(lock.attempts);
    await clock.advance(100); // the frozen node's vote times out
    await acquired;
    const released = await lock.release();
    const done = Promise.all(released.attempts);
    await clock.advance(100);
    await done;
  };
  for (let i = 0; i < 20; i++) await cycle(i);
  expect(sent).toHaveLength(40);
  expect(frozen.queue).toHaveLength(40); // every request is still waiting in the "driver"
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  // The attempts' arguments (the lock values among them) went with their attempts.
  expect(sent.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
});
