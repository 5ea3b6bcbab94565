import { InvalidArgumentError, QuorumUnreachableError, Redlock } from "../src";
import { setup } from "./helpers";

const sync = { replicas: 1, timeout: 100 };

describe("replicaSync", () => {
  test("a grant counts once the node's replicas acknowledged it", async () => {
    const { runners, redlock } = setup(3, { replicaSync: sync, retryCount: 0 });
    for (const runner of runners) runner.replicas = 1;
    const lock = await redlock.acquire(["a"], 10_000);
    await expect(lock.extend(10_000)).resolves.toBeDefined();
  });

  test("without enough replicas, the vote fails and the node's write is undone", async () => {
    const { runners, redlock } = setup(3, { replicaSync: sync, retryCount: 0 });
    runners[0]!.replicas = 1;
    const errors: unknown[] = [];
    redlock.on("error", (error) => errors.push(error));
    const error = await redlock.acquire(["a"], 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuorumUnreachableError);
    expect(String((error as Error).message)).toMatch(/0 of 1 replicas acknowledged/);
    expect(errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: "REPLICA_SYNC_FAILED" })]),
    );
    await redlock.idle();
    for (const runner of runners) expect(runner.get("a")).toBeUndefined();
  });

  test("a quorum of synced nodes is enough", async () => {
    const { runners, redlock } = setup(3, { replicaSync: sync, retryCount: 0 });
    runners[0]!.replicas = 1;
    runners[1]!.replicas = 1;
    await expect(redlock.acquire(["a"], 10_000)).resolves.toBeDefined();
  });

  test("refused settings and runners that cannot wait", () => {
    const runner = { name: "plain", run: async () => 1 };
    expect(() => new Redlock([runner], { replicaSync: sync })).toThrow(/cannot wait for replicas/);
    const { runners } = setup(1);
    for (const bad of [
      { replicas: 0, timeout: 100 },
      { replicas: 1.5, timeout: 100 },
      { replicas: 1, timeout: 1000 },
      { replicas: 1 },
      { replicas: 1, timeout: 100, aof: "yes" },
      "WAIT 1 100",
    ]) {
      expect(() => new Redlock(runners, { replicaSync: bad as never })).toThrow(
        InvalidArgumentError,
      );
    }
  });
});
