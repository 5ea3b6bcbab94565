import { InvalidArgumentError, type NodeError, Redlock, type ScriptRunner } from "../src";
import { FakeClock, MemoryRunner } from "../src/testing";

/** What the constructor threw (fails the test when it returns). */
function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  throw new Error("expected the constructor to throw");
}

/** A runner that fails every call with a plain error, so core names the node in its NodeError. */
const failing = (): ScriptRunner => ({
  run: async () => {
    throw new Error("connection refused");
  },
});

/** A runner named `name` that forwards to `node`, as a wrapper of a client would. */
const named = (name: string | undefined, node: ScriptRunner): ScriptRunner => ({
  name,
  run: (script, keys, args, options) => node.run(script, keys, args, options),
});

// One server, one vote: runners are told apart by name, since two objects (a client and a
// runner made from it, two clients for one host and port) can reach the same server.
describe("node names", () => {
  test("two runners with the same name are refused, naming both positions and the name", () => {
    const node = new MemoryRunner({ name: "redis://10.0.0.1:6379" });
    const error = thrown(
      () => new Redlock([node, new MemoryRunner({ name: "b" }), named(node.name, node)]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({
      code: "INVALID_ARGUMENT",
      reason: "DUPLICATE_NODE",
      argument: "runners[2]",
    });
    const { message } = error as Error;
    expect(message).toContain("runners[0] and runners[2]");
    expect(message).toContain('"redis://10.0.0.1:6379"');
    expect(message).toContain("Pass each node once");
    expect(message).toContain("allowDuplicateNodeNames: true");
  });

  test("positions are those of the list as given, identity duplicates included", () => {
    const a = new MemoryRunner({ name: "a" });
    const error = thrown(() => new Redlock([a, a, new MemoryRunner({ name: "a" })]));
    expect(error).toMatchObject({ reason: "DUPLICATE_NODE", argument: "runners[2]" });
    expect((error as Error).message).toContain("runners[0] and runners[2]");
  });

  test("the same object twice is still one node, and is not a duplicate name", () => {
    const a = new MemoryRunner({ name: "a" });
    expect(new Redlock([a, a, new MemoryRunner({ name: "b" })]).runners.size).toBe(2);
  });

  test("allowDuplicateNodeNames: true lets runners named alike in, each with its own vote", async () => {
    const clock = new FakeClock();
    const runners = [0, 1, 2].map(() => new MemoryRunner({ name: "shard", clock }));
    const redlock = new Redlock(runners, { clock, allowDuplicateNodeNames: true });
    expect(redlock.runners.size).toBe(3);
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    for (const runner of runners) expect(runner.get("a")).toBe(lock.value);
    expect(() => new Redlock(runners, { allowDuplicateNodeNames: false })).toThrow(
      expect.objectContaining({ reason: "DUPLICATE_NODE" }),
    );
  });

  test.each([1, "yes", null, {}])("allowDuplicateNodeNames %j is refused", (value) => {
    const error = thrown(
      () => new Redlock([new MemoryRunner()], { allowDuplicateNodeNames: value as never }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({
      reason: "INVALID_SETTING",
      argument: "settings.allowDuplicateNodeNames",
    });
  });

  test("runners without a name are never duplicates and are called node-<i>", async () => {
    const clock = new FakeClock();
    const redlock = new Redlock(
      [named(undefined, failing()), named("", failing()), named(undefined, failing())],
      { clock, retryCount: 0 },
    );
    expect(redlock.runners.size).toBe(3);
    const nodes = new Set<string>();
    redlock.on("error", (error) => nodes.add((error as NodeError).node));
    await expect(clock.settle(redlock.acquire(["a"], 1000))).rejects.toMatchObject({
      code: "QUORUM_UNREACHABLE",
    });
    expect([...nodes].sort()).toEqual(["node-0", "node-1", "node-2"]);
  });

  test("a name getter that throws is an InvalidArgumentError, not a raw error", () => {
    const hostile = {
      run: async () => 1,
      get name(): string {
        throw new Error("boom");
      },
    };
    const error = thrown(() => new Redlock([new MemoryRunner(), hostile]));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: "INVALID_RUNNER", argument: "runners[1].name" });
  });

  test("each name is read once, so what was checked is what errors show", async () => {
    const clock = new FakeClock();
    const down = failing();
    let reads = 0;
    const shifty = {
      run: down.run,
      get name() {
        reads++;
        return reads === 1 ? "first" : "later";
      },
    };
    const redlock = new Redlock([shifty, new MemoryRunner({ name: "later", clock })], {
      clock,
      retryCount: 0,
    });
    const nodes = new Set<string>();
    redlock.on("error", (error) => nodes.add((error as NodeError).node));
    await clock.settle(redlock.acquire(["a"], 1000).catch(() => undefined));
    expect(reads).toBe(1);
    expect([...nodes]).toEqual(["first"]);
  });
});
