import { setup } from "./helpers";

test("smoke", async () => {
  const { clock, runners, redlock } = setup(3);
  const lock = await clock.settle(redlock.acquire(["a"], 1000));
  expect(runners[0]?.get("a")).toBe(lock.value);
  const r = await clock.settle(lock.release());
  expect(r.outcome).toBe("released");
});
