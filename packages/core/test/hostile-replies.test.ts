import { runInThisContext } from "node:vm";
import fc from "fast-check";
import {
  ExecutionError,
  Lock,
  type LockScript,
  NodeError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
  type ReleaseResult,
  ResourceLockedError,
  type RunOptions,
  type ScriptRunner,
  UnexpectedReplyError,
} from "../src";
import { defaultScripts } from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";
import { CPU_BOUND_TIMEOUT, lockKeys } from "./helpers";

/** Fixed in CI; override with FC_SEED=<int> to explore. Printed in every describe title. */
const SEED = seedFromEnv(0x4057_11e5);
fc.configureGlobal({ seed: SEED });

function seedFromEnv(fallback: number): number {
  const raw = process.env.FC_SEED;
  const parsed = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isSafeInteger(parsed) ? parsed | 0 : fallback;
}

// Jest gives each test file its own copy of `process`; Node emits `unhandledRejection` on the
// host process only, so the listener goes there.
const hostProcess = runInThisContext("process") as NodeJS.Process;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};
beforeAll(() => {
  hostProcess.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  hostProcess.off("unhandledRejection", onUnhandled);
});
// Thrown rather than asserted, so that this hook's check does not count as the test's assertion.
afterEach(async () => {
  await macrotask();
  const seen = unhandled.splice(0).map(String);
  if (seen.length > 0) throw new Error(`unhandled rejections:\n${seen.join("\n")}`);
});

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A FakeClock that lets pending promise callbacks run with `setImmediate` instead of a 1 ms timer. */
class QuickClock extends FakeClock {
  override flush(): Promise<void> {
    return macrotask();
  }
}

type Settled<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

const settled = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

type Kind = "acquire" | "guarded" | "fence" | "extend" | "release";

const kindOf = (script: LockScript): Kind =>
  script.sha1 === defaultScripts.acquireGuardedScript.sha1 ? "guarded" : (script.name as Kind);

/** The script name an UnexpectedReplyError reports for each kind. */
const scriptLabel: Record<Kind, string> = {
  acquire: "acquire",
  guarded: "acquire",
  fence: "fence",
  extend: "extend",
  release: "release",
};

/** Runs every script on a real in-memory node, then replaces the reply to one kind of script. */
class Corrupting implements ScriptRunner {
  readonly name: string;

  constructor(
    readonly node: MemoryRunner,
    readonly kind: Kind,
    readonly reply: () => unknown,
    readonly active: () => boolean = () => true,
  ) {
    this.name = node.name;
  }

  async run(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    options?: RunOptions,
  ): Promise<unknown> {
    const real = await this.node.run(script, keys, args, options);
    return this.active() && kindOf(script) === this.kind ? this.reply() : real;
  }
}

function cluster(
  size: number,
  wrap: (node: MemoryRunner, i: number, clock: FakeClock) => ScriptRunner = (node) => node,
) {
  const clock = new QuickClock();
  const nodes = Array.from({ length: size }, (_, i) => new MemoryRunner({ name: `n${i}`, clock }));
  const runners = nodes.map((node, i) => wrap(node, i, clock));
  return { clock, nodes, runners };
}

function redlockOver(runners: ScriptRunner[], clock: FakeClock, options: RedlockOptions = {}) {
  const redlock = new Redlock(runners, { clock, retryJitter: 0, retryCount: 0, ...options });
  const errors: NodeError[] = [];
  redlock.on("error", (error) => errors.push(error));
  return { redlock, errors };
}

const KEYS = ["a", "b"];

/**
 * Drive one operation whose `kind` script gets `reply` from the first `bad` of `bad + good`
 * nodes. Extend and release work on a lock acquired beforehand with honest replies.
 */
async function withBadReplies(kind: Kind, reply: unknown, bad: number, good: number) {
  const corrupt = { on: false };
  const { clock, nodes, runners } = cluster(bad + good, (node, i) =>
    i < bad
      ? new Corrupting(
          node,
          kind,
          () => reply,
          () => corrupt.on,
        )
      : node,
  );
  const { redlock, errors } = redlockOver(runners, clock);
  const fencing = kind === "guarded" || kind === "fence";
  let outcome: Settled<Lock | ReleaseResult>;
  let held: Lock | undefined;
  if (kind === "extend" || kind === "release") {
    held = await clock.settle(redlock.acquire(KEYS, 10_000));
    corrupt.on = true;
    const operation: Promise<Lock | ReleaseResult> =
      kind === "extend" ? held.extend(10_000) : held.release();
    outcome = await clock.settle(settled(operation));
  } else {
    corrupt.on = true;
    outcome = await clock.settle(settled(redlock.acquire(KEYS, 10_000, { fencing })));
  }
  await clock.advance(1);
  await redlock.idle();
  return { clock, nodes, redlock, errors, outcome, held };
}

function expectUnexpectedReplies(
  errors: readonly NodeError[],
  kind: Kind,
  reply: unknown,
  bad: number,
) {
  const unexpected = errors.filter((error) => error instanceof UnexpectedReplyError);
  expect(unexpected.map((error) => error.node).sort()).toEqual(
    Array.from({ length: bad }, (_, i) => `n${i}`),
  );
  for (const error of unexpected) {
    expect(error).toBeInstanceOf(NodeError);
    expect(error.code).toBe("UNEXPECTED_REPLY");
    expect(error.name).toBe("UnexpectedReplyError");
    expect(error.message).toContain(`[${error.node}]`);
    expect(error.message).toContain(`the ${scriptLabel[kind]} script`);
    expect(Object.is((error as UnexpectedReplyError).reply, reply)).toBe(true);
  }
}

const WRONG_TYPES: readonly (readonly [string, unknown])[] = [
  ['the string "2"', "2"],
  ['the string "OK"', "OK"],
  ["an empty string", ""],
  ["null", null],
  ["undefined", undefined],
  ["an object", { ok: 1 }],
  ["true", true],
  ["false", false],
  ["the bigint 2n", 2n],
  ["NaN", Number.NaN],
  ["1.5", 1.5],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["2 ** 53", 2 ** 53],
  ["-(2 ** 53)", -(2 ** 53)],
  ["Number.MAX_VALUE", Number.MAX_VALUE],
  ["-0.5", -0.5],
  ["a symbol", Symbol("reply")],
  ["a function", () => 2],
  ["a Date", new Date(2)],
  ["a boxed Number(2)", Object(2)],
];

const COUNT_REPLIES: readonly (readonly [string, unknown])[] = [
  ...WRONG_TYPES,
  ["an empty array", []],
  ["the array [2]", [2]],
  ["the array [2, 0]", [2, 0]],
];

/** Integers the count scripts can never return for two keys (acquire: 2, 0 or −TTL; extend: 2, 0 or −1; fence: 2). */
const IMPOSSIBLE_COUNTS: Record<
  "acquire" | "extend" | "fence",
  readonly (readonly [string, unknown])[]
> = {
  acquire: [
    ["3, more keys than were sent", 3],
    ["2 ** 53 - 1", 2 ** 53 - 1],
  ],
  extend: [
    ["3, more keys than were sent", 3],
    ["-2", -2],
    ["2 ** 53 - 1", 2 ** 53 - 1],
  ],
  fence: [
    ["0", 0],
    ["3, more counters than were sent", 3],
    ["-1", -1],
  ],
};

// biome-ignore format: one reply per line reads as a table
const GUARDED_REPLIES: readonly (readonly [string, unknown])[] = [
  ...WRONG_TYPES,
  ["a bare 1", 1],
  ["a bare 2 (the key count)", 2],
  ["[]", []],
  ["[1]", [1]],
  ["[1, 0, 0]", [1, 0, 0]],
  ['["1", 0]', ["1", 0]],
  ['[1, "0"]', [1, "0"]],
  ["[1n, 0n]", [1n, 0n]],
  ["[1, -1]", [1, -1]],
  ["[0, -5]", [0, -5]],
  ["[2, -1]", [2, -1]],
  ["[3, 0]", [3, 0]],
  ["[-1, 0]", [-1, 0]],
  ["[1.5, 0]", [1.5, 0]],
  ["[1, 0.5]", [1, 0.5]],
  ["[NaN, 0]", [Number.NaN, 0]],
  ["[1, NaN]", [1, Number.NaN]],
  ["[1, Infinity]", [1, Number.POSITIVE_INFINITY]],
  ["[null, 0]", [null, 0]],
  ["[1, null]", [1, null]],
  ["[[1], 0]", [[1], 0]],
  ["[1, 2 ** 53]", [1, 2 ** 53]],
  ["a sparse array [, 0]", Object.assign(new Array<unknown>(2), { 1: 0 })],
  ["an array-like object", { 0: 1, 1: 0, length: 2 }],
];

// biome-ignore format: one reply per line reads as a table
const RELEASE_REPLIES: readonly (readonly [string, unknown])[] = [
  ...WRONG_TYPES,
  ["-1", -1],
  ["3, more keys than were sent", 3],
  ["an object shaped like the detail", { deleted: 2, missing: 0 }],
  ["[]", []],
  ["[1]", [1]],
  ["[1, 0, 0, 0]", [1, 0, 0, 0]],
  ["[1, 0, -2], a negative subscriber count", [1, 0, -2]],
  ['[1, 0, "1"]', [1, 0, "1"]],
  ["[1, 0, 1.5]", [1, 0, 1.5]],
  ["[-1, 0]", [-1, 0]],
  ["[0, -1]", [0, -1]],
  ['["1", "0"]', ["1", "0"]],
  ["[1.5, 0]", [1.5, 0]],
  ["[2, 1], more than the key count", [2, 1]],
  ["[NaN, 0]", [Number.NaN, 0]],
  ["[1n, 0n]", [1n, 0n]],
  ["[null, null]", [null, null]],
  ["[2 ** 53, 0]", [2 ** 53, 0]],
];

const TABLES: readonly (readonly [Kind, readonly (readonly [string, unknown])[]])[] = [
  ["acquire", COUNT_REPLIES],
  ["guarded", GUARDED_REPLIES],
  ["fence", COUNT_REPLIES],
  ["extend", COUNT_REPLIES],
  ["release", RELEASE_REPLIES],
];

const SCRIPT_TITLES: Record<Kind, string> = {
  acquire: "acquire script",
  guarded: "guarded acquire script [status, value] (fencing)",
  fence: "fencing-token script",
  extend: "extend script",
  release: "release script",
};

/** Does the error's message, or that of an error in its `cause` chain, contain `text`? */
function mentions(error: unknown, text: string): boolean {
  if (!(error instanceof Error)) return false;
  if (error.message.includes(text)) return true;
  const { cause } = error as { cause?: unknown };
  if (cause instanceof AggregateError) return cause.errors.some((inner) => mentions(inner, text));
  return mentions(cause, text);
}

async function expectDenied(kind: Kind, reply: unknown, bad: number, good: number) {
  const { nodes, errors, outcome } = await withBadReplies(kind, reply, bad, good);
  expectUnexpectedReplies(errors, kind, reply, bad);
  if (kind === "release") {
    expect(outcome.ok).toBe(true);
    const result = (outcome as { value: ReleaseResult }).value;
    expect(result.outcome).toBe("partial");
    expect(result.nodes.failed).toBe(bad);
    return;
  }
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).not.toBeInstanceOf(Lock);
  expect(error).toBeInstanceOf(QuorumUnreachableError);
  expect(mentions(error, "[n0]")).toBe(true);
  if (kind !== "extend") {
    // The grants that were made are taken back.
    for (const node of nodes) expect(node.keys().filter((key) => KEYS.includes(key))).toEqual([]);
  }
}

async function expectGranted(kind: Kind, reply: unknown, bad: number, good: number) {
  const { nodes, errors, outcome } = await withBadReplies(kind, reply, bad, good);
  expectUnexpectedReplies(errors, kind, reply, bad);
  expect(outcome.ok).toBe(true);
  const value = (outcome as { value: Lock | ReleaseResult }).value;
  if (kind === "release") {
    expect((value as ReleaseResult).outcome).toBe("released");
    expect((value as ReleaseResult).nodes).toMatchObject({ released: good, failed: bad });
    for (const node of nodes.slice(bad)) expect(node.keys()).toEqual([]);
    return;
  }
  const lock = value as Lock;
  expect(lock).toBeInstanceOf(Lock);
  for (const node of nodes.slice(bad)) {
    for (const key of KEYS) expect(node.get(key)).toBe(lock.value);
  }
  if (kind === "guarded" || kind === "fence") expect(lock.fencingToken).toBe(1);
}

describe("malformed replies are UnexpectedReplyErrors that never grant", () => {
  describe.each(TABLES)("%s", (kind, replies) => {
    describe(SCRIPT_TITLES[kind], () => {
      test.each(replies)("%s from all 3 nodes: denied, and every node is named", (_label, reply) =>
        expectDenied(kind, reply, 3, 0),
      );
      test.each(replies)("%s from 3 of 5 nodes: no quorum, no lock", (_label, reply) =>
        expectDenied(kind, reply, 3, 2),
      );
      test.each(replies)("%s from 2 of 5 nodes: the good majority still decides", (_label, reply) =>
        expectGranted(kind, reply, 2, 3),
      );
    });
  });

  describe.each(Object.entries(IMPOSSIBLE_COUNTS))(
    "integers the %s script can never return",
    (kind, replies) => {
      test.each(replies)("%s from all 3 nodes is an unexpected reply", (_label, reply) =>
        expectDenied(kind as Kind, reply, 3, 0),
      );
    },
  );

  test("a counter at 2 ** 53 - 1 never yields a fencing token that is not a safe integer", async () => {
    const { outcome } = await withBadReplies("guarded", [1, 2 ** 53 - 1], 3, 0);
    if (outcome.ok) {
      expect(Number.isSafeInteger((outcome.value as Lock).fencingToken)).toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(ExecutionError);
    }
  });

  test(
    `arbitrary replies: a lock is returned only on a quorum of well-formed grants (fast-check seed ${SEED})`,
    async () => {
      const reply = fc.oneof(
        fc.anything({
          withBigInt: true,
          withNullPrototype: true,
          withBoxedValues: true,
          maxDepth: 1,
        }),
        fc.constantFrom(2, 0, -5, [1, 0], [0, 7], [2, 0], [1, 3]),
        fc.tuple(
          fc.integer({ min: -2, max: 3 }),
          fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double()),
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(reply, { minLength: 1, maxLength: 5 }),
          fc.constantFrom<Kind>("acquire", "guarded"),
          async (replies, kind) => {
            const { clock, nodes } = cluster(replies.length);
            const runners = nodes.map((node, i) => new Corrupting(node, kind, () => replies[i]));
            const { redlock, errors } = redlockOver(runners, clock);
            const valid = replies.filter((r) =>
              kind === "acquire"
                ? r === KEYS.length
                : Array.isArray(r) &&
                  r.length === 2 &&
                  r[0] === 1 &&
                  Number.isSafeInteger(r[1]) &&
                  r[1] >= 0,
            ).length;
            const outcome = await clock.settle(
              settled(redlock.acquire(KEYS, 10_000, { fencing: kind === "guarded" })),
            );
            await redlock.idle();
            if (valid < Math.floor(replies.length / 2) + 1) {
              expect(outcome.ok).toBe(false);
              expect((outcome as { error: unknown }).error).toBeInstanceOf(ExecutionError);
            } else if (!outcome.ok) {
              expect(outcome.error).toBeInstanceOf(ExecutionError);
            }
            for (const error of errors) {
              expect(error).toBeInstanceOf(NodeError);
              expect(error.message).toMatch(/^\[n\d\] /);
            }
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------

/** Wraps a MemoryRunner; `behaviour` decides what `run` returns (`forward` runs the script). */
function misbehaving(
  node: MemoryRunner,
  behaviour: (
    forward: () => Promise<unknown>,
    script: LockScript,
    keys: readonly string[],
    options?: RunOptions,
  ) => unknown,
): ScriptRunner & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    name: node.name,
    signals,
    run: (script, keys, args, options) => {
      if (options?.signal) signals.push(options.signal);
      return behaviour(
        () => node.run(script, keys, args, options),
        script,
        keys,
        options,
      ) as Promise<unknown>;
    },
  };
}

class WeirdError extends Error {
  override get message(): string {
    throw new Error("message getter");
  }
}

const THROWN: readonly (readonly [string, () => unknown])[] = [
  ["an Error", () => new Error("boom")],
  ["a string", () => "boom"],
  ["undefined", () => undefined],
  ["a number", () => 42],
  ["a symbol", () => Symbol("boom")],
  ["a null-prototype object", () => Object.create(null)],
  [
    "an object whose toString throws",
    () => ({
      toString: () => {
        throw new Error("toString");
      },
    }),
  ],
  ["an Error whose message getter throws", () => new WeirdError()],
];

describe("runners that misbehave", () => {
  describe.each(THROWN)("throwing or rejecting with %s", (_label, make) => {
    const thrower = (node: MemoryRunner) =>
      misbehaving(node, () => {
        throw make();
      });
    const rejecter = (node: MemoryRunner) => misbehaving(node, () => Promise.reject(make()));

    test.each([
      ["throws synchronously", thrower],
      ["rejects", rejecter],
    ] as const)(
      "a node that %s is a named NodeError at once; the others decide",
      async (_how, wrap) => {
        const { clock, runners } = cluster(3, (node, i) => (i === 0 ? wrap(node) : node));
        const { redlock, errors } = redlockOver(runners, clock, { nodeTimeout: 1000 });
        const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
        expect(lock).toBeInstanceOf(Lock);
        expect(clock.now()).toBe(0);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(NodeError);
        expect(errors[0]).toMatchObject({ node: "n0", code: "NODE_ERROR" });
        expect(errors[0]?.message.startsWith("[n0] ")).toBe(true);
      },
    );

    test("two such nodes of three: QuorumUnreachableError at once, not after nodeTimeout", async () => {
      const { clock, runners } = cluster(3, (node, i) => (i < 2 ? thrower(node) : node));
      const { redlock, errors } = redlockOver(runners, clock, { nodeTimeout: 1000 });
      const outcome = await clock.settle(settled(redlock.acquire(KEYS, 10_000)));
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: unknown }).error).toBeInstanceOf(QuorumUnreachableError);
      expect(clock.now()).toBe(0);
      expect([...new Set(errors.map((error) => error.node))].sort()).toEqual(["n0", "n1"]);
    });
  });

  test("a runner returning a plain value instead of a promise is read as the reply", async () => {
    const { clock, runners } = cluster(3, (node) =>
      misbehaving(node, (forward) => {
        void forward();
        return KEYS.length;
      }),
    );
    const { redlock, errors } = redlockOver(runners, clock);
    const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
    expect(lock).toBeInstanceOf(Lock);
    expect(errors).toEqual([]);
  });

  test("a runner returning undefined (no promise at all) is an unexpected reply", async () => {
    const { clock, runners } = cluster(3, (node, i) =>
      i === 0 ? misbehaving(node, () => undefined) : node,
    );
    const { redlock, errors } = redlockOver(runners, clock);
    await clock.settle(redlock.acquire(KEYS, 10_000));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UnexpectedReplyError);
    expect(errors[0]?.message).toMatch(/^\[n0\] unexpected reply to the acquire script/);
  });

  test("thenables: one that resolves works, one whose then() throws is a NodeError", async () => {
    const broken = {
      // biome-ignore lint/suspicious/noThenProperty: a runner returning a thenable is the case under test
      then() {
        throw new Error("then");
      },
    };
    const thenable = (forward: () => Promise<unknown>) => ({
      // biome-ignore lint/suspicious/noThenProperty: a runner returning a thenable is the case under test
      then: (resolve: (v: unknown) => void, reject: (e: unknown) => void) =>
        forward().then(resolve, reject),
    });
    const { clock, runners } = cluster(3, (node, i) =>
      misbehaving(node, (forward) => (i === 0 ? broken : thenable(forward))),
    );
    const { redlock, errors } = redlockOver(runners, clock);
    const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
    expect(lock).toBeInstanceOf(Lock);
    expect(errors.map((error) => [error.node, error.code])).toEqual([["n0", "NODE_ERROR"]]);
  });

  test("nodes that never answer: a quorum without them decides at once", async () => {
    const { clock, runners } = cluster(5, (node, i) =>
      i < 2 ? misbehaving(node, () => new Promise(() => {})) : node,
    );
    const { redlock } = redlockOver(runners, clock, { nodeTimeout: 500 });
    const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
    expect(clock.now()).toBe(0);
    expect(lock.remainingTime()).toBe(10_000 - 102);
    await clock.advance(500);
    const stats = await lock.attempts[0];
    expect(stats?.votesFor.size).toBe(3);
    expect(
      [...(stats?.votesAgainst.values() ?? [])].map((error) => (error as NodeError).code),
    ).toEqual(["NODE_TIMEOUT", "NODE_TIMEOUT"]);
  });

  test("nodes that never answer: a majority of them fails after exactly nodeTimeout, and their signals abort", async () => {
    const silent = new Set<ReturnType<typeof misbehaving>>();
    const { clock, runners } = cluster(5, (node, i) => {
      if (i >= 3) return node;
      const runner = misbehaving(node, () => new Promise(() => {}));
      silent.add(runner);
      return runner;
    });
    const { redlock, errors } = redlockOver(runners, clock, { nodeTimeout: 500 });
    const outcome = await clock.settle(settled(redlock.acquire(KEYS, 10_000)));
    expect(clock.now()).toBe(500);
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(QuorumUnreachableError);
    expect(
      errors
        .filter((error) => error.code === "NODE_TIMEOUT")
        .map((e) => e.node)
        .sort(),
    ).toEqual(["n0", "n1", "n2"]);
    for (const runner of silent) {
      expect(runner.signals.length).toBeGreaterThan(0);
      expect(runner.signals[0]?.aborted).toBe(true);
    }
    await clock.advance(500);
    await redlock.idle();
    expect(clock.pendingTimers).toBe(0);
  });

  test("replies after the decision: the lock stands, stats complete later, late errors are still reported", async () => {
    const { clock, nodes, runners } = cluster(5, (node, i, clock) =>
      i < 2
        ? misbehaving(node, async (forward) => {
            await forward();
            await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
            return "late garbage";
          })
        : node,
    );
    const { redlock, errors } = redlockOver(runners, clock, { nodeTimeout: 500 });
    const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
    expect(clock.now()).toBe(0);
    expect(errors).toEqual([]);
    await clock.advance(100);
    expect(errors.map((error) => error.code)).toEqual(["UNEXPECTED_REPLY", "UNEXPECTED_REPLY"]);
    const stats = await lock.attempts[0];
    expect(stats?.votesFor.size).toBe(3);
    expect(stats?.votesAgainst.size).toBe(2);
    expect(lock.remainingTime()).toBe(10_000 - 102 - 100);
    expect(nodes[0]?.get("a")).toBe(lock.value);
  });

  test("replies after nodeTimeout are ignored: counted once, as a timeout", async () => {
    const { clock, runners } = cluster(3, (node, i, clock) =>
      i === 0
        ? misbehaving(node, async (forward) => {
            const reply = await forward();
            await new Promise<void>((resolve) => clock.setTimeout(resolve, 1000));
            return reply;
          })
        : node,
    );
    const { redlock, errors } = redlockOver(runners, clock, { nodeTimeout: 200 });
    const lock = await clock.settle(redlock.acquire(KEYS, 10_000));
    await clock.advance(1000);
    const stats = await lock.attempts[0];
    expect(stats?.votesFor.size).toBe(2);
    expect(errors.map((error) => error.code)).toEqual(["NODE_TIMEOUT"]);
  });

  test("a denied acquisition takes back grants that land after the decision", async () => {
    const { clock, nodes } = cluster(5);
    for (const node of nodes.slice(0, 3)) node.set("a", "foreign", 60_000);
    for (const node of nodes.slice(3)) node.faults.latency = 100;
    const { redlock } = redlockOver(nodes, clock, { nodeTimeout: 500 });
    const outcome = await clock.settle(settled(redlock.acquire(KEYS, 10_000)));
    expect(clock.now()).toBe(0);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ResourceLockedError);
    await clock.advance(200);
    await redlock.idle();
    for (const node of nodes.slice(3)) expect(node.keys()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

type Subscribe = NonNullable<ScriptRunner["onRelease"]>;

/** A node whose `run` is honest and whose release subscription misbehaves. */
function withOnRelease(node: MemoryRunner, onRelease: Subscribe): ScriptRunner {
  return {
    name: node.name,
    run: (script, keys, args, options) => node.run(script, keys, args, options),
    onRelease,
  };
}

const SUBSCRIPTIONS: readonly (readonly [string, Subscribe])[] = [
  [
    "throws synchronously",
    () => {
      throw new Error("subscribe failed");
    },
  ],
  ["returns undefined instead of a promise", () => undefined as never],
  ["rejects", () => Promise.reject(new Error("subscribe failed"))],
  ["never settles", () => new Promise(() => {})],
  [
    "resolves with something that is not an unsubscribe function",
    () => Promise.resolve(42 as never),
  ],
];

describe("runners whose release subscription (onRelease) misbehaves", () => {
  test.each(SUBSCRIPTIONS)(
    "onRelease %s: a contended acquire still ends with a typed error within acquireTimeout",
    async (_label, onRelease) => {
      const { clock, nodes, runners } = cluster(3, (node) => withOnRelease(node, onRelease));
      for (const node of nodes) node.set("a", "foreign", 60_000);
      const { redlock } = redlockOver(runners, clock, { retryDelay: 100, retryCount: -1 });
      const outcome = await clock.settle(
        settled(redlock.acquire(["a"], 1000, { acquireTimeout: 1000 })),
        5000,
      );
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: unknown }).error).toBeInstanceOf(ResourceLockedError);
      expect(clock.now()).toBeLessThanOrEqual(1000);
    },
  );

  test.each(SUBSCRIPTIONS)(
    "onRelease %s: an abort signal still ends a contended acquire",
    async (_label, onRelease) => {
      const { clock, nodes, runners } = cluster(3, (node) => withOnRelease(node, onRelease));
      for (const node of nodes) node.set("a", "foreign", 60_000);
      const { redlock } = redlockOver(runners, clock, { retryDelay: 100, retryCount: -1 });
      const controller = new AbortController();
      clock.setTimeout(() => controller.abort(), 250);
      const outcome = await clock.settle(
        settled(redlock.acquire(["a"], 1000, { signal: controller.signal })),
        5000,
      );
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: unknown }).error).toMatchObject({ code: "ABORTED" });
    },
  );
});

// ---------------------------------------------------------------------------------------------

/** Grants every script at once without storing anything. */
const granting: ScriptRunner = {
  name: "granting",
  run: async (script, keys, args) =>
    kindOf(script) === "guarded"
      ? [1, 0]
      : kindOf(script) === "release"
        ? [lockKeys(keys, args, "release"), 0]
        : lockKeys(keys, args),
};

const HEX32 = /^[0-9a-f]{32}$/;

describe("lock values", () => {
  test("values are drawn from crypto.getRandomValues, 16 bytes each, as 32 hex characters", async () => {
    const spy = jest.spyOn(globalThis.crypto, "getRandomValues");
    try {
      const redlock = new Redlock([granting]);
      for (let i = 0; i < 600; i++) {
        const lock = await redlock.acquire([`r${i}`], 1000);
        expect(lock.value).toMatch(HEX32);
      }
      // Bytes are drawn in batches; every value takes its own 16 of them.
      expect(spy).toHaveBeenCalled();
      for (const result of spy.mock.results) {
        expect(result.value).toBeInstanceOf(Uint8Array);
        expect((result.value as Uint8Array).length % 16).toBe(0);
      }
      const drawn = spy.mock.results.reduce((n, r) => n + (r.value as Uint8Array).length, 0);
      expect(drawn).toBeGreaterThanOrEqual((600 - 256) * 16);
    } finally {
      spy.mockRestore();
    }
  });

  test(
    "values are distinct over 5000 acquisitions and every bit varies",
    async () => {
      const redlock = new Redlock([granting]);
      const values = new Set<string>();
      const ones = new Array<number>(128).fill(0);
      for (let i = 0; i < 5000; i++) {
        const { value } = await redlock.acquire(["r"], 1000);
        expect(value).toMatch(HEX32);
        values.add(value);
        const bits = BigInt(`0x${value}`);
        for (let bit = 0; bit < 128; bit++) if ((bits >> BigInt(bit)) & 1n) ones[bit]!++;
      }
      expect(values.size).toBe(5000);
      for (const count of ones) {
        expect(count).toBeGreaterThan(5000 * 0.4);
        expect(count).toBeLessThan(5000 * 0.6);
      }
    },
    CPU_BOUND_TIMEOUT,
  );

  test("every attempt of a retried acquisition uses a fresh value", async () => {
    const { clock, nodes } = cluster(1);
    nodes[0]?.set("a", "foreign", 1000);
    const sent: unknown[] = [];
    const probe: ScriptRunner = {
      name: "probe",
      run: (script, keys, args, options) => {
        if (kindOf(script) === "acquire") sent.push(args[0]);
        return nodes[0]!.run(script, keys, args, options);
      },
    };
    const { redlock } = redlockOver([probe], clock, { retryCount: 20, retryDelay: 100 });
    const lock = await clock.settle(redlock.acquire(["a"], 1000));
    expect(sent.length).toBeGreaterThan(5);
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.at(-1)).toBe(lock.value);
  });
});

describe("only the owner's value releases or extends", () => {
  async function held() {
    const { clock, nodes } = cluster(3);
    const { redlock } = redlockOver(nodes, clock);
    const real = await clock.settle(redlock.acquire(KEYS, 10_000));
    await clock.advance(100);
    const intact = () => {
      for (const node of nodes) {
        for (const key of KEYS) {
          expect(node.get(key)).toBe(real.value);
          expect(node.pttl(key)).toBe(10_000 - 100);
        }
      }
    };
    return { clock, nodes, redlock, real, intact };
  }

  test("a forged Lock with another value: release is not-held, extend is ResourceLockedError, keys intact", async () => {
    const { clock, redlock, real, intact } = await held();
    const forged = new Lock(redlock, [...KEYS], "0".repeat(32), [], clock.wallNow() + 10_000);
    const result = await clock.settle(redlock.release(forged));
    expect(result.outcome).toBe("not-held");
    expect(result.nodes).toEqual({ released: 0, expired: 0, notHeld: 3, failed: 0 });
    intact();
    const other = new Lock(redlock, [...KEYS], "f".repeat(32), [], clock.wallNow() + 10_000);
    await expect(clock.settle(redlock.extend(other, 60_000))).rejects.toBeInstanceOf(
      ResourceLockedError,
    );
    intact();
    const extended = await clock.settle(real.extend(20_000));
    expect((await clock.settle(extended.release())).outcome).toBe("released");
  });

  test(
    `forged values close to the real one never release or extend it (fast-check seed ${SEED})`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.stringMatching(HEX32),
            fc.string({ minLength: 1, maxLength: 40 }),
            fc.constantFrom("prefix", "suffix", "upper", "trimmed", "padded"),
          ),
          fc.subarray(KEYS, { minLength: 1 }),
          fc.boolean(),
          async (spec, resources, throughOtherInstance) => {
            const { clock, nodes, redlock, real, intact } = await held();
            const near: Record<string, string> = {
              prefix: real.value.slice(0, 31),
              suffix: `${real.value}0`,
              upper: real.value.toUpperCase(),
              trimmed: real.value.slice(1),
              padded: ` ${real.value}`,
            };
            const value = Object.hasOwn(near, spec) ? (near[spec] as string) : spec;
            fc.pre(value !== real.value);
            const owner = throughOtherInstance ? redlockOver(nodes, clock).redlock : redlock;
            const forged = new Lock(owner, resources, value, [], clock.wallNow() + 10_000);
            const extended = await clock.settle(settled(owner.extend(forged, 60_000)));
            expect(extended.ok).toBe(false);
            expect((extended as { error: unknown }).error).toBeInstanceOf(ResourceLockedError);
            intact();
            const result = await clock.settle(owner.release(forged));
            expect(result.outcome).toBe("not-held");
            intact();
          },
        ),
        { seed: SEED, numRuns: 100 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );
});
