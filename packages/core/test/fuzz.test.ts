import { runInThisContext } from "node:vm";
import fc from "fast-check";
import {
  drift,
  ExecutionError,
  InvalidArgumentError,
  type InvalidArgumentReason,
  Lock,
  type LockScript,
  MAX_DURATION,
  quorum,
  Redlock,
  type ReleaseResult,
  ResourceLockedError,
  type RunOptions,
  type ScriptRunner,
} from "../src";
import {
  ACQUIRE_GUARDED_SCRIPT,
  ACQUIRE_SCRIPT,
  defaultScripts,
  EXTEND_SCRIPT,
  FENCE_SCRIPT,
  fenceKey,
  RELEASE_SCRIPT,
  waitingLineKey,
} from "../src/adapter";
import { FakeClock, MemoryRunner } from "../src/testing";
import { CPU_BOUND_TIMEOUT, lockKeys } from "./helpers";

/** Fixed in CI; override with FC_SEED=<int> to explore. Printed in every describe title. */
const SEED = seedFromEnv(0x0f22_c0de);
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
  const seen = unhandled.splice(0).map(show);
  if (seen.length > 0) throw new Error(`unhandled rejections:\n${seen.join("\n")}`);
});

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Fail with the first unhandled rejection seen since `mark`. */
async function expectNoUnhandledSince(mark: number): Promise<void> {
  await macrotask();
  const fresh = unhandled.splice(mark);
  if (fresh.length > 0) throw new Error(`unhandled rejection: ${show(fresh[0])}`);
}

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return fc.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A FakeClock that lets pending promise callbacks run with `setImmediate` instead of a 1 ms timer. */
class QuickClock extends FakeClock {
  override flush(): Promise<void> {
    return macrotask();
  }
}

type Settled =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

const settled = (promise: Promise<unknown>): Promise<Settled> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

const ALL_REASONS: readonly InvalidArgumentReason[] = [
  "NO_RESOURCES",
  "INVALID_RESOURCES",
  "EMPTY_RESOURCE",
  "DUPLICATE_RESOURCE",
  "INVALID_DURATION",
  "INVALID_SETTING",
  "UNKNOWN_SETTING",
  "INVALID_THRESHOLD",
  "INVALID_SIGNAL",
  "INVALID_ROUTINE",
  "INVALID_LOCK",
  "NO_RUNNERS",
  "INVALID_RUNNER",
  "INVALID_SCRIPT",
];

function expectInvalidArgument(
  error: unknown,
  reasons: readonly InvalidArgumentReason[] = ALL_REASONS,
  argument = "",
): void {
  if (!(error instanceof InvalidArgumentError)) {
    throw new Error(`expected an InvalidArgumentError, got ${show(error)}`);
  }
  expect(error.code).toBe("INVALID_ARGUMENT");
  expect(reasons).toContain(error.reason);
  expect(typeof error.argument).toBe("string");
  expect(error.argument.startsWith(argument)).toBe(true);
  expect(error.message).toMatch(/^Invalid /);
}

/** Thrown by the hostile getters and proxies below; the library may let it through as is. */
class Boom extends Error {
  override name = "Boom";
}

type Kind = "acquire" | "guarded" | "fence" | "extend" | "release";

const kindOf = (script: LockScript): Kind =>
  script.sha1 === defaultScripts.acquireGuardedScript.sha1 ? "guarded" : (script.name as Kind);

interface Call {
  readonly kind: Kind;
  readonly keys: readonly unknown[];
  readonly args: readonly unknown[];
}

/** Never touches a node: records each call and grants it, so valid input succeeds at once. */
class GrantingSpy implements ScriptRunner {
  static readonly BUDGET = 400;
  calls: Call[] = [];
  runaway = false;

  constructor(readonly name: string) {}

  run(script: LockScript, keys: readonly string[], args: readonly (string | number)[]) {
    const kind = kindOf(script);
    this.calls.push({ kind, keys: [...keys], args: [...args] });
    if (this.calls.length > GrantingSpy.BUDGET) {
      this.runaway = true;
      return new Promise<unknown>(() => {});
    }
    if (kind === "guarded") return Promise.resolve([1, 0]);
    if (kind === "release") return Promise.resolve([lockKeys(keys, args, "release"), 0]);
    return Promise.resolve(lockKeys(keys, args));
  }

  /** Lock values this node was asked to grant, and values it was asked to release. */
  ledger(): { granted: Set<unknown>; released: Set<unknown> } {
    const granted = new Set<unknown>();
    const released = new Set<unknown>();
    for (const call of this.calls) {
      if (call.kind === "acquire" || call.kind === "guarded") granted.add(call.args[0]);
      if (call.kind === "release") released.add(call.args[0]);
    }
    return { granted, released };
  }
}

/** Every key a runner receives is a non-empty string, and a lock's own keys are distinct. */
function checkKeys(calls: readonly Call[]): void {
  for (const call of calls) {
    for (const key of call.keys) {
      if (typeof key !== "string" || key === "") {
        throw new Error(`a ${call.kind} call carried the key ${show(key)}`);
      }
    }
    const count =
      call.kind === "guarded"
        ? Number(call.args[2])
        : call.kind === "acquire" || call.kind === "release"
          ? lockKeys(call.keys as string[], call.args as (string | number)[], call.kind)
          : call.keys.length;
    const own = call.keys.slice(0, count);
    if (call.kind !== "fence" && new Set(own).size !== own.length) {
      throw new Error(`a ${call.kind} call carried duplicate keys ${show(own)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Value descriptions: plain data that fast-check can print and shrink, built into hostile
// objects (getters, proxies, signals, routines) inside each run.

type Reason = "error" | "string" | "undefined" | "null-prototype";

type Spec =
  | { readonly t: "value"; readonly v: unknown }
  | { readonly t: "record"; readonly fields: Readonly<Record<string, Spec>> }
  | { readonly t: "list"; readonly items: readonly Spec[] }
  | {
      readonly t: "hostile";
      readonly mode: "getters" | "shifting" | "proxy";
      readonly after: number;
      readonly later: unknown;
      readonly base: Spec;
    }
  | {
      readonly t: "signal";
      readonly mode: "aborted" | "later" | "never" | "structural" | "throwing-listener";
      readonly at: number;
      readonly reason: Reason;
    }
  | {
      readonly t: "lock-like";
      readonly value: Spec;
      readonly resources: Spec;
      readonly remaining: unknown;
    }
  | { readonly t: "held-lock" }
  | {
      readonly t: "routine";
      readonly mode: "value" | "throw" | "reject" | "wait";
      readonly ms: number;
    }
  | { readonly t: "fake-clock" }
  | { readonly t: "spies"; readonly count: number }
  | { readonly t: "transform"; readonly returns: Spec };

interface World {
  readonly clock: FakeClock;
  readonly spies: GrantingSpy[];
  readonly token: object;
  readonly failure: Error;
  held?: Lock;
  hostile: boolean;
  routineRan: boolean;
  outer?: AbortSignal;
  observed?: { readonly outer: boolean; readonly inner: boolean };
}

function newWorld(clock: FakeClock = new QuickClock()): World {
  return {
    clock,
    spies: [],
    token: { routine: "result" },
    failure: new Error("routine failed"),
    hostile: false,
    routineRan: false,
  };
}

function reasonOf(reason: Reason): unknown {
  switch (reason) {
    case "error":
      return new Error("stop");
    case "string":
      return "stop";
    case "undefined":
      return undefined;
    case "null-prototype":
      return Object.create(null);
  }
}

function build(spec: Spec, world: World): unknown {
  switch (spec.t) {
    case "value":
      return spec.v;
    case "record": {
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(spec.fields)) {
        Object.defineProperty(out, key, {
          value: build(field, world),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "list":
      return spec.items.map((item) => build(item, world));
    case "hostile":
      world.hostile = true;
      return hostile(build(spec.base, world), spec);
    case "signal":
      return signalOf(spec, world);
    case "lock-like": {
      const remaining = spec.remaining;
      return {
        value: build(spec.value, world),
        resources: build(spec.resources, world),
        remainingTime: () => remaining,
      };
    }
    case "held-lock":
      return world.held;
    case "routine":
      return routineOf(spec, world);
    case "fake-clock":
      return world.clock;
    case "spies": {
      const spies = Array.from({ length: spec.count }, (_, i) => new GrantingSpy(`s${i}`));
      world.spies.push(...spies);
      return spies;
    }
    case "transform": {
      const returns = spec.returns;
      return (source: string) =>
        returns.t === "value" && returns.v === "same" ? source : build(returns, world);
    }
  }
}

/** A copy of `base` whose reads succeed `after` times, then throw (or, `shifting`, lie). */
function hostile(base: unknown, spec: Extract<Spec, { t: "hostile" }>): unknown {
  if (typeof base !== "object" || base === null) return base;
  let reads = 0;
  const read = (value: unknown): unknown => {
    if (reads++ < spec.after) return value;
    if (spec.mode === "shifting") return spec.later;
    throw new Boom(`read #${reads}`);
  };
  if (spec.mode === "proxy") {
    return new Proxy(base, {
      get: (target, key, receiver) => read(Reflect.get(target, key, receiver)),
      has: (target, key) => read(Reflect.has(target, key)) as boolean,
      ownKeys: (target) => read(Reflect.ownKeys(target)) as (string | symbol)[],
      getOwnPropertyDescriptor: (target, key) =>
        read(Reflect.getOwnPropertyDescriptor(target, key)) as PropertyDescriptor | undefined,
      getPrototypeOf: (target) => read(Reflect.getPrototypeOf(target)) as object | null,
    });
  }
  const source = base as Record<PropertyKey, unknown>;
  const out: object = Array.isArray(base) ? [] : Object.create(Object.getPrototypeOf(base));
  for (const key of Reflect.ownKeys(base)) {
    if (Array.isArray(base) && key === "length") continue;
    const value = source[key];
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get: () => read(value),
      set: () => {},
    });
  }
  return out;
}

function signalOf(spec: Extract<Spec, { t: "signal" }>, world: World): unknown {
  switch (spec.mode) {
    case "aborted":
      return AbortSignal.abort(reasonOf(spec.reason));
    case "never":
      return new AbortController().signal;
    case "later": {
      const controller = new AbortController();
      world.clock.setTimeout(() => controller.abort(reasonOf(spec.reason)), spec.at);
      world.outer = controller.signal;
      return controller.signal;
    }
    case "structural":
      return { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };
    case "throwing-listener":
      world.hostile = true;
      return {
        aborted: false,
        reason: undefined,
        addEventListener() {
          throw new Boom("addEventListener");
        },
        removeEventListener() {},
      };
  }
}

function routineOf(spec: Extract<Spec, { t: "routine" }>, world: World) {
  return (signal: AbortSignal): unknown => {
    world.routineRan = true;
    const observe = () => {
      world.observed = { outer: world.outer?.aborted ?? false, inner: signal.aborted };
    };
    switch (spec.mode) {
      case "value":
        observe();
        return world.token;
      case "throw":
        observe();
        throw world.failure;
      case "reject":
        observe();
        return Promise.reject(world.failure);
      case "wait":
        return new Promise((resolve) =>
          world.clock.setTimeout(() => {
            observe();
            resolve(world.token);
          }, spec.ms),
        );
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.

const weirdNumber = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 53),
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    -1,
    0.5,
    1.5,
    1e21,
    MAX_DURATION,
    MAX_DURATION + 1,
    2 ** 32,
  ),
  fc.double(),
  fc.integer(),
);

const junk: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.anything({
      maxDepth: 2,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withSparseArray: true,
      withTypedArray: true,
    }),
  },
  { weight: 2, arbitrary: weirdNumber },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
);

const value = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Spec> =>
  arb.map((v): Spec => ({ t: "value", v }));
const junkSpec = value(junk);

const resourceName = fc.string({ unit: "binary", minLength: 1, maxLength: 6 });
const resourceList = fc.uniqueArray(resourceName, { minLength: 1, maxLength: 4 });
const validResources = fc.oneof(value(resourceName), value(resourceList));
const validDuration = fc.integer({ min: 3, max: 60_000 });

const reason = fc.constantFrom<Reason>("error", "string", "undefined", "null-prototype");
const signalSpec: fc.Arbitrary<Spec> = fc.record({
  t: fc.constant("signal" as const),
  mode: fc.constantFrom("aborted", "later", "never", "structural", "throwing-listener"),
  at: fc.integer({ min: 0, max: 3000 }),
  reason,
});

/** Valid values of every per-call setting (settings for `using()` included). */
const validFields: Record<string, fc.Arbitrary<Spec>> = {
  driftFactor: value(fc.double({ min: 0, max: 0.05, noNaN: true })),
  retryCount: value(
    fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(Number.POSITIVE_INFINITY)),
  ),
  retryDelay: value(fc.integer({ min: 0, max: 300 })),
  retryJitter: value(fc.integer({ min: 0, max: 100 })),
  automaticExtensionThreshold: value(fc.integer({ min: 0, max: 300 })),
  nodeTimeout: value(fc.double({ min: 1, max: 2000, noNaN: true })),
  acquireTimeout: value(fc.integer({ min: 1, max: 5000 })),
  fencing: value(fc.boolean()),
  maxExtensions: value(fc.integer({ min: 0, max: 3 })),
  maxHoldTime: value(fc.integer({ min: 1, max: 10_000 })),
  onLockLost: value(fc.constant(() => {})),
  signal: signalSpec,
};

const fieldsOf = (
  fields: Record<string, fc.Arbitrary<Spec>>,
  orJunk: boolean,
): fc.Arbitrary<Spec> =>
  fc
    .tuple(
      fc.record(
        Object.fromEntries(
          Object.entries(fields).map(([key, arb]) => [
            key,
            orJunk
              ? fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: junkSpec })
              : arb,
          ]),
        ),
        { requiredKeys: [] },
      ),
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 8 }).filter((key) => !(key in validFields)),
        junkSpec,
        { maxKeys: orJunk ? 3 : 0 },
      ),
    )
    .map(
      ([known, unknown]): Spec => ({
        t: "record",
        fields: { ...unknown, ...(known as Record<string, Spec>) },
      }),
    );

const hostileOf = (base: fc.Arbitrary<Spec>): fc.Arbitrary<Spec> =>
  fc.record({
    t: fc.constant("hostile" as const),
    mode: fc.constantFrom("getters", "shifting", "proxy"),
    after: fc.nat({ max: 12 }),
    later: junk,
    base,
  });

const settingsSpec: fc.Arbitrary<Spec> = fc.oneof(
  { withCrossShrink: true },
  { weight: 2, arbitrary: fc.constant<Spec>({ t: "value", v: undefined }) },
  { weight: 6, arbitrary: fieldsOf(validFields, true) },
  { weight: 1, arbitrary: junkSpec },
  { weight: 2, arbitrary: hostileOf(fieldsOf(validFields, false)) },
);

const resourcesSpec: fc.Arbitrary<Spec> = fc.oneof(
  { withCrossShrink: true },
  { weight: 6, arbitrary: validResources },
  { weight: 2, arbitrary: junkSpec },
  { weight: 2, arbitrary: hostileOf(value(resourceList)) },
);

const durationSpec: fc.Arbitrary<Spec> = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: value(validDuration) },
  { weight: 1, arbitrary: value(weirdNumber) },
  { weight: 1, arbitrary: junkSpec },
);

const lockLikeSpec: fc.Arbitrary<Spec> = fc.record({
  t: fc.constant("lock-like" as const),
  value: fc.oneof(value(fc.string({ maxLength: 4 })), junkSpec),
  resources: fc.oneof(value(resourceList), junkSpec, value(fc.array(junk, { maxLength: 3 }))),
  remaining: fc.oneof(fc.integer({ min: -10, max: 10_000 }), weirdNumber, junk),
});

const lockSpec: fc.Arbitrary<Spec> = fc.oneof(
  { withCrossShrink: true },
  { weight: 5, arbitrary: fc.constant<Spec>({ t: "held-lock" }) },
  { weight: 2, arbitrary: lockLikeSpec },
  { weight: 1, arbitrary: junkSpec },
  { weight: 2, arbitrary: hostileOf(fc.constant<Spec>({ t: "held-lock" })) },
);

const routineSpec: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("routine" as const),
      mode: fc.constantFrom("value", "throw", "reject", "wait"),
      ms: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: junkSpec },
);

type Op = "acquire" | "extend" | "release" | "using";

interface OpSpec {
  readonly op: Op;
  readonly resources: Spec;
  readonly duration: Spec;
  readonly lock: Spec;
  readonly settings: Spec;
  readonly routine: Spec;
}

const opSpec: fc.Arbitrary<OpSpec> = fc.record({
  op: fc.constantFrom<Op>("acquire", "extend", "release", "using"),
  resources: resourcesSpec,
  duration: durationSpec,
  lock: lockSpec,
  settings: settingsSpec,
  routine: routineSpec,
});

function invoke(redlock: Redlock, op: Op, a: Record<keyof OpSpec, unknown>): unknown {
  switch (op) {
    case "acquire":
      return redlock.acquire(a.resources as never, a.duration as never, a.settings as never);
    case "extend":
      return redlock.extend(a.lock as never, a.duration as never, a.settings as never);
    case "release":
      return redlock.release(a.lock as never, a.settings as never);
    case "using":
      return redlock.using(
        a.resources as never,
        a.duration as never,
        a.settings as never,
        a.routine as never,
      );
  }
}

const isReleaseResult = (value: unknown): value is ReleaseResult =>
  typeof value === "object" &&
  value !== null &&
  ["released", "expired", "not-held", "partial"].includes((value as ReleaseResult).outcome);

/** One public call with arbitrary arguments against three granting spies on a fake clock. */
async function exercise(spec: OpSpec): Promise<void> {
  const world = newWorld();
  const { clock } = world;
  const spies = [new GrantingSpy("s0"), new GrantingSpy("s1"), new GrantingSpy("s2")];
  const redlock = new Redlock(spies, { clock, retryJitter: 0, minDuration: 1 });
  if (spec.op === "extend" || spec.op === "release") {
    world.held = await clock.settle(redlock.acquire(["held"], 10_000));
  }
  for (const spy of spies) spy.calls = [];
  const mark = unhandled.length;
  const args = {
    op: spec.op,
    resources: build(spec.resources, world),
    duration: build(spec.duration, world),
    lock: build(spec.lock, world),
    settings: build(spec.settings, world),
    routine: build(spec.routine, world),
  };

  let promise: unknown;
  try {
    promise = invoke(redlock, spec.op, args);
  } catch (error) {
    throw new Error(`${spec.op}() threw synchronously: ${show(error)}`);
  }
  if (!(promise instanceof Promise)) throw new Error(`${spec.op}() returned ${show(promise)}`);
  const outcome = await clock.settle(settled(promise), 120_000);
  await clock.flush();

  if (spies.some((spy) => spy.runaway)) {
    throw new Error(`${spec.op}() sent more than ${GrantingSpy.BUDGET} scripts to one node`);
  }
  const calls = spies.flatMap((spy) => spy.calls);
  checkKeys(calls);

  let kept: unknown;
  if (outcome.ok) {
    const result = outcome.value;
    if (spec.op === "acquire" || spec.op === "extend") {
      if (!(result instanceof Lock)) throw new Error(`${spec.op}() resolved with ${show(result)}`);
      kept = result.value;
    } else if (spec.op === "release") {
      if (!isReleaseResult(result)) throw new Error(`release() resolved with ${show(result)}`);
    } else if (result !== world.token) {
      throw new Error(`using() resolved with ${show(result)}, not the routine's result`);
    }
  } else {
    const { error } = outcome;
    if (error instanceof InvalidArgumentError) {
      expectInvalidArgument(error);
      if (calls.length > 0) {
        throw new Error(
          `${error.reason} (${error.argument}) after ${calls.length} calls to runners`,
        );
      }
    } else if (world.hostile && (error instanceof Boom || calls.length === 0)) {
      // A hostile argument may fail the call in its own way, provided nothing was sent.
    } else if (error === world.failure) {
      expect(spec.op).toBe("using");
      expect(world.routineRan).toBe(true);
    } else if (!(error instanceof ExecutionError)) {
      throw new Error(`${spec.op}() rejected with ${show(error)}: not a RedlockError`);
    }
  }

  // Every value granted during the call was released, except the lock handed back.
  for (const spy of spies) {
    const { granted, released } = spy.ledger();
    for (const v of granted) {
      if (v !== kept && !released.has(v)) {
        throw new Error(`${spec.op}() left the value ${show(v)} granted on ${spy.name}`);
      }
    }
  }

  if (!world.hostile && world.observed?.outer && !world.observed.inner) {
    throw new Error("the outer signal aborted but the routine's signal did not");
  }
  await expectNoUnhandledSince(mark);
}

// ---------------------------------------------------------------------------------------------

describe(`fuzzing the public API (fast-check seed ${SEED})`, () => {
  test(
    "acquire/extend/release/using with arbitrary arguments: always a promise, typed outcomes, nothing leaked",
    async () => {
      await fc.assert(fc.asyncProperty(opSpec, exercise), { seed: SEED, numRuns: 400 });
    },
    CPU_BOUND_TIMEOUT,
  );

  describe("invalid input: InvalidArgumentError with a stable reason, and nothing sent", () => {
    const isValidResources = (v: unknown): boolean => {
      if (typeof v === "string") return v !== "";
      if (!Array.isArray(v) || v.length === 0) return false;
      const seen = new Set<string>();
      for (let i = 0; i < v.length; i++) {
        const name: unknown = v[i];
        if (typeof name !== "string" || name === "" || seen.has(name)) return false;
        seen.add(name);
      }
      return true;
    };
    const isValidDuration = (v: unknown) =>
      typeof v === "number" && Number.isSafeInteger(v) && v > 0 && v <= MAX_DURATION;
    const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
    const validity: Record<string, (v: unknown) => boolean> = {
      driftFactor: (v) => finite(v) && v >= 0 && v < 1,
      retryCount: (v) =>
        v === Number.POSITIVE_INFINITY ||
        (typeof v === "number" && Number.isSafeInteger(v) && v >= -1),
      retryDelay: (v) => finite(v) && v >= 0,
      retryJitter: (v) => finite(v) && v >= 0,
      automaticExtensionThreshold: (v) => finite(v) && v >= 0,
      nodeTimeout: (v) => finite(v) && v > 0,
      acquireTimeout: (v) => finite(v) && v > 0,
      maxHoldTime: (v) => finite(v) && v > 0,
      maxExtensions: (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0,
      fencing: (v) => typeof v === "boolean",
      signal: () => false,
      onLockLost: (v) => typeof v === "function",
      keyPrefix: (v) => typeof v === "string",
      restartGuard: () => false,
    };

    const invalidResources = fc.oneof(
      junk.filter((v) => !isValidResources(v)),
      fc.constantFrom<unknown>([], "", [""], ["a", ""], ["a", "a"]),
      fc
        .tuple(resourceList, junk, fc.nat())
        .map(([list, bad, at]) => {
          const out: unknown[] = [...list];
          out.splice(at % (list.length + 1), 0, bad);
          return out;
        })
        .filter((v) => !isValidResources(v)),
    );
    const invalidDuration = fc.oneof(weirdNumber, junk).filter((v) => !isValidDuration(v));
    /** Valid integers that leave no validity once the default 1% drift and 2 ms are taken. */
    const tooShortDuration = fc.constantFrom(1, 2);
    const invalidField = fc.oneof(
      ...Object.keys(validity).map((key) =>
        fc.tuple(
          fc.constant(key),
          fc.oneof(weirdNumber, junk).filter((v) => v !== undefined && !validity[key]?.(v)),
        ),
      ),
    );
    const invalidSettings: fc.Arbitrary<Spec> = fc.oneof(
      value(junk.filter((v) => v !== undefined && (typeof v !== "object" || v === null))),
      fc.tuple(fieldsOf(validFields, false), invalidField).map(([base, [key, bad]]): Spec => {
        const fields = (base as Extract<Spec, { t: "record" }>).fields;
        return { t: "record", fields: { ...fields, [key]: { t: "value", v: bad } } };
      }),
    );
    const invalidLock = fc.oneof(
      junk,
      fc.record({
        value: junk.filter((v) => typeof v !== "string"),
        resources: resourceList,
        remainingTime: fc.constant(() => 1000),
      }),
      fc.record({
        value: fc.constant("v"),
        resources: fc.oneof(
          junk.filter((v) => !Array.isArray(v)),
          fc.constant([]),
          fc.array(
            junk.filter((v) => typeof v !== "string"),
            { minLength: 1, maxLength: 3 },
          ),
          fc.constant([""]),
        ),
        remainingTime: fc.constant(() => 1000),
      }),
      fc.record({ value: fc.constant("v"), resources: resourceList, remainingTime: junk }),
    );

    type Case = {
      readonly op: Op;
      readonly slot: "resources" | "duration" | "settings" | "lock" | "routine" | "threshold";
      readonly bad: unknown;
    };
    const cases: fc.Arbitrary<Case> = fc.oneof(
      ...(["acquire", "using"] as const).flatMap((op) => [
        invalidResources.map((bad): Case => ({ op, slot: "resources", bad })),
        invalidDuration.map((bad): Case => ({ op, slot: "duration", bad })),
        invalidSettings.map((bad): Case => ({ op, slot: "settings", bad })),
      ]),
      tooShortDuration.map((bad): Case => ({ op: "acquire", slot: "duration", bad })),
      invalidLock.map((bad): Case => ({ op: "extend", slot: "lock", bad })),
      invalidDuration.map((bad): Case => ({ op: "extend", slot: "duration", bad })),
      tooShortDuration.map((bad): Case => ({ op: "extend", slot: "duration", bad })),
      invalidSettings.map((bad): Case => ({ op: "extend", slot: "settings", bad })),
      invalidLock.map((bad): Case => ({ op: "release", slot: "lock", bad })),
      invalidSettings.map((bad): Case => ({ op: "release", slot: "settings", bad })),
      junk.map((bad): Case => ({ op: "using", slot: "routine", bad })),
      fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 10_000 })).map(
        ([duration, over]): Case => ({
          op: "using",
          slot: "threshold",
          bad: { duration, threshold: Math.max(0, duration - 100 + over) },
        }),
      ),
    );
    const reasons: Record<Case["slot"], readonly InvalidArgumentReason[]> = {
      resources: ["NO_RESOURCES", "INVALID_RESOURCES", "EMPTY_RESOURCE", "DUPLICATE_RESOURCE"],
      duration: ["INVALID_DURATION"],
      settings: ["INVALID_SETTING", "UNKNOWN_SETTING", "INVALID_SIGNAL"],
      lock: ["INVALID_LOCK"],
      routine: ["INVALID_ROUTINE"],
      threshold: ["INVALID_THRESHOLD"],
    };

    test(
      "one invalid argument among valid ones",
      async () => {
        await fc.assert(
          fc.asyncProperty(cases, fieldsOf(validFields, false), async (c, base) => {
            const world = newWorld();
            const { clock } = world;
            const spies = [new GrantingSpy("s0"), new GrantingSpy("s1"), new GrantingSpy("s2")];
            const redlock = new Redlock(spies, { clock, retryJitter: 0, minDuration: 1 });
            const held = await clock.settle(redlock.acquire(["held"], 10_000));
            for (const spy of spies) spy.calls = [];
            const mark = unhandled.length;
            const fields = Object.entries((base as Extract<Spec, { t: "record" }>).fields);
            const settings = build(
              {
                t: "record",
                fields: Object.fromEntries(fields.filter(([key]) => key !== "signal")),
              },
              world,
            ) as Record<string, unknown>;
            settings.automaticExtensionThreshold = 0;
            const a: Record<keyof OpSpec, unknown> = {
              op: c.op,
              resources: ["r1", "r2"],
              duration: 5000,
              lock: held,
              settings,
              routine: async () => "ran",
            };
            if (c.slot === "threshold") {
              const { duration, threshold } = c.bad as { duration: number; threshold: number };
              a.duration = duration;
              settings.automaticExtensionThreshold = threshold;
            } else if (c.slot === "settings") {
              a.settings = build(c.bad as Spec, world);
            } else {
              a[c.slot] = c.bad;
            }
            const outcome = await clock.settle(
              settled(invoke(redlock, c.op, a) as Promise<unknown>),
            );
            await clock.flush();
            if (outcome.ok) throw new Error(`${c.op}() resolved with ${show(outcome.value)}`);
            const argument = c.slot === "threshold" ? "automaticExtensionThreshold" : c.slot;
            expectInvalidArgument(outcome.error, reasons[c.slot], argument);
            const calls = spies.flatMap((spy) => spy.calls);
            if (calls.length > 0) {
              throw new Error(`${calls.length} scripts reached the runners: ${show(calls[0])}`);
            }
            await expectNoUnhandledSince(mark);
          }),
          { seed: SEED, numRuns: 400 },
        );
      },
      CPU_BOUND_TIMEOUT,
    );
  });

  test(
    "the constructor throws InvalidArgumentError synchronously or builds a working instance",
    async () => {
      const runners: fc.Arbitrary<Spec> = fc.oneof(
        { withCrossShrink: true },
        {
          weight: 5,
          arbitrary: fc.integer({ min: 1, max: 3 }).map((count): Spec => ({ t: "spies", count })),
        },
        { weight: 2, arbitrary: junkSpec },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.integer({ min: 1, max: 2 }), junk).map(
            ([count, bad]): Spec => ({
              t: "list",
              items: [
                { t: "spies", count },
                { t: "value", v: bad },
              ],
            }),
          ),
        },
        { weight: 1, arbitrary: hostileOf(fc.constant<Spec>({ t: "spies", count: 2 })) },
      );
      const options = fieldsOf(
        {
          ...validFields,
          clock: fc.oneof(
            { weight: 3, arbitrary: fc.constant<Spec>({ t: "fake-clock" }) },
            { weight: 1, arbitrary: junkSpec },
          ),
          keyPrefix: value(fc.string({ maxLength: 4 })),
          restartGuard: value(
            fc.record(
              {
                period: fc.integer({ min: 1, max: 1000 }),
                markerKey: fc.string({ minLength: 1, maxLength: 4 }),
              },
              { requiredKeys: ["period"] },
            ),
          ),
        },
        true,
      );
      const script: fc.Arbitrary<Spec> = fc.oneof(
        value(fc.string({ maxLength: 6 })),
        junkSpec,
        fc
          .oneof(value(fc.constant("same")), value(fc.string({ maxLength: 6 })), junkSpec)
          .map((returns): Spec => ({ t: "transform", returns })),
      );
      const scripts: fc.Arbitrary<Spec> = fc.oneof(
        { withCrossShrink: true },
        fc.constant<Spec>({ t: "value", v: undefined }),
        junkSpec,
        fc
          .record(
            { acquireScript: script, extendScript: script, releaseScript: script },
            { requiredKeys: [] },
          )
          .map((fields): Spec => ({ t: "record", fields })),
      );

      await fc.assert(
        fc.asyncProperty(
          runners,
          fc.oneof({ withCrossShrink: true }, options, hostileOf(options), junkSpec),
          scripts,
          async (r, o, s) => {
            const world = newWorld();
            const mark = unhandled.length;
            const built = [build(r, world), build(o, world), build(s, world)] as const;
            let redlock: Redlock;
            try {
              redlock = new Redlock(...(built as unknown as ConstructorParameters<typeof Redlock>));
            } catch (error) {
              if (error instanceof Boom && world.hostile) return;
              expectInvalidArgument(error);
              return;
            }
            const pending = settled(redlock.acquire(["r"], 1000, { retryCount: 0 }));
            const outcome =
              redlock.clock === world.clock ? await world.clock.settle(pending) : await pending;
            if (outcome.ok) expect(outcome.value).toBeInstanceOf(Lock);
            else if (!(outcome.error instanceof ExecutionError)) {
              throw new Error(`acquire() on the new instance rejected with ${show(outcome.error)}`);
            }
            for (const spy of world.spies) expect(spy.calls.length).toBeGreaterThan(0);
            await expectNoUnhandledSince(mark);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------

/** Records every call and forwards it to a MemoryRunner; gives up after a budget of calls. */
class Recorder implements ScriptRunner {
  static readonly BUDGET = 400;
  readonly name: string;
  readonly calls: { script: LockScript; keys: string[]; args: (string | number)[] }[] = [];
  runaway = false;

  constructor(readonly node: MemoryRunner) {
    this.name = node.name;
  }

  run(
    script: LockScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    options?: RunOptions,
  ): Promise<unknown> {
    this.calls.push({ script, keys: [...keys], args: [...args] });
    if (this.calls.length > Recorder.BUDGET) {
      this.runaway = true;
      return new Promise(() => {});
    }
    return this.node.run(script, keys, args, options);
  }

  values(kind: Kind): Set<string | number | undefined> {
    return new Set(
      this.calls.filter((call) => kindOf(call.script) === kind).map((call) => call.args[0]),
    );
  }
}

function memoryCluster(size: number, options: Record<string, unknown> = {}) {
  const clock = new QuickClock();
  const nodes = Array.from({ length: size }, (_, i) => new MemoryRunner({ name: `n${i}`, clock }));
  const recorders = nodes.map((node) => new Recorder(node));
  const redlock = new Redlock(recorders, { clock, retryJitter: 0, minDuration: 1, ...options });
  return { clock, nodes, recorders, redlock };
}

describe(`valid input on MemoryRunner + FakeClock (fast-check seed ${SEED})`, () => {
  const node = fc.record({
    latency: fc.integer({ min: 0, max: 40 }),
    down: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    foreign: fc.option(fc.integer({ min: 1, max: 3000 }), { freq: 4 }),
  });
  const scenario = fc.record({
    nodes: fc.array(node, { minLength: 1, maxLength: 5 }),
    keyPrefix: fc.string({ maxLength: 3 }),
    driftFactor: fc.double({ min: 0, max: 0.05, noNaN: true }),
    nodeTimeout: fc.integer({ min: 5, max: 500 }),
    retryDelay: fc.integer({ min: 1, max: 300 }),
    retryJitter: fc.integer({ min: 0, max: 50 }),
    retryCount: fc.integer({ min: 0, max: 3 }),
    guard: fc.option(fc.integer({ min: 1, max: 400 }), { freq: 4 }),
    resources: resourceList,
    duration: fc.integer({ min: 100, max: 20_000 }),
    fencing: fc.boolean(),
    abortAt: fc.option(fc.integer({ min: 0, max: 400 })),
    acquireTimeout: fc.option(fc.integer({ min: 1, max: 2000 })),
    extendTo: fc.integer({ min: 200, max: 20_000 }),
    extendRetries: fc.integer({ min: 0, max: 2 }),
  });

  test(
    "acquire, extend and release settle with a Lock/result or an ExecutionError",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const { clock, nodes, recorders, redlock } = memoryCluster(s.nodes.length, {
            keyPrefix: s.keyPrefix,
            driftFactor: s.driftFactor,
            nodeTimeout: s.nodeTimeout,
            retryDelay: s.retryDelay,
            retryJitter: s.retryJitter,
            retryCount: s.retryCount,
            ...(s.guard === null ? {} : { restartGuard: { period: s.guard } }),
          });
          const mark = unhandled.length;
          const keys = s.resources.map((name) => s.keyPrefix + name);
          s.nodes.forEach((spec, i) => {
            const n = nodes[i]!;
            n.faults.latency = spec.latency;
            n.faults.down = spec.down;
            if (spec.foreign !== null) n.set(keys[0]!, "foreign", spec.foreign);
          });
          const maxLatency = Math.max(...s.nodes.map((spec) => spec.latency));
          const drain = () => clock.advance(maxLatency + s.nodeTimeout + 1);
          /** While a Lock reports r ms of validity, a quorum holds its keys for at least r ms. */
          const expectBacked = (lock: Lock, when: string) => {
            const left = lock.remainingTime();
            if (left <= 0) return;
            const backing = nodes.filter((n) =>
              keys.every((key) => n.get(key) === lock.value && n.pttl(key) >= left),
            ).length;
            if (backing < quorum(nodes.length)) {
              throw new Error(
                `${when}: the lock reports ${left} ms left but only ${backing} of ${nodes.length} nodes hold it that long ` +
                  `(TTLs ${nodes.map((n) => n.pttl(keys[0]!)).join(", ")})`,
              );
            }
          };

          const controller = new AbortController();
          if (s.abortAt !== null) clock.setTimeout(() => controller.abort(), s.abortAt);
          const acquired = await clock.settle(
            settled(
              redlock.acquire(s.resources, s.duration, {
                fencing: s.fencing,
                signal: controller.signal,
                ...(s.acquireTimeout === null ? {} : { acquireTimeout: s.acquireTimeout }),
              }),
            ),
          );
          if (!acquired.ok) {
            if (!(acquired.error instanceof ExecutionError)) {
              throw new Error(`acquire() rejected with ${show(acquired.error)}`);
            }
            if (acquired.error.code === "ABORTED") expect(controller.signal.aborted).toBe(true);
            await drain();
            for (const [i, n] of nodes.entries()) {
              for (const v of recorders[i]!.values("acquire")) {
                expect(keys.filter((key) => n.get(key) === v)).toEqual([]);
              }
              for (const v of recorders[i]!.values("guarded")) {
                expect(keys.filter((key) => n.get(key) === v)).toEqual([]);
              }
            }
            expect(recorders.some((r) => r.runaway)).toBe(false);
            await expectNoUnhandledSince(mark);
            return;
          }

          const lock = acquired.value as Lock;
          expect(lock).toBeInstanceOf(Lock);
          expect(lock.value).toMatch(/^[0-9a-f]{32}$/);
          expect(lock.resources).toEqual(s.resources);
          expect(lock.remainingTime()).toBeGreaterThan(0);
          expect(lock.remainingTime()).toBeLessThanOrEqual(
            s.duration - drift(s.duration, s.driftFactor),
          );
          expectBacked(lock, "after acquire()");
          if (s.fencing) expect(Number.isSafeInteger(lock.fencingToken)).toBe(true);

          const heldEverywhere = nodes.every((n) => keys.every((key) => n.get(key) === lock.value));
          const extended = await clock.settle(
            settled(lock.extend(s.extendTo, { retryCount: s.extendRetries })),
          );
          let current = lock;
          if (extended.ok) {
            current = extended.value as Lock;
            expect(current).toBeInstanceOf(Lock);
            expect(current.value).toBe(lock.value);
            expect(lock.remainingTime()).toBe(0);
          } else {
            if (!(extended.error instanceof ExecutionError)) {
              throw new Error(`extend() rejected with ${show(extended.error)}`);
            }
            // A conflict needs a node without our value; every node had it when extend() began.
            if (extended.error instanceof ResourceLockedError && heldEverywhere) {
              throw new Error(
                `extend(${s.extendTo}) failed with ResourceLockedError while every node held the lock`,
              );
            }
          }
          expectBacked(current, `after extend(${s.extendTo})`);
          await drain();
          expectBacked(current, `once extend(${s.extendTo})'s scripts have all run`);

          const released = await clock.settle(settled(current.release()));
          if (!released.ok) throw new Error(`release() rejected with ${show(released.error)}`);
          const result = released.value as ReleaseResult;
          expect(isReleaseResult(result)).toBe(true);
          const counted = result.nodes.released + result.nodes.expired + result.nodes.notHeld;
          expect(counted + result.nodes.failed).toBeLessThanOrEqual(nodes.length);
          await drain();
          for (const n of nodes)
            expect(keys.filter((key) => n.get(key) === lock.value)).toEqual([]);
          expect(recorders.some((r) => r.runaway)).toBe(false);
          await expectNoUnhandledSince(mark);
        }),
        { seed: SEED, numRuns: 300 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );

  test(
    "using(): an outer abort at any time reaches the routine's signal; nothing is left behind",
    async () => {
      const arb = fc.record({
        latencies: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 5 }),
        fencing: fc.boolean(),
        abortAt: fc.integer({ min: 0, max: 150 }),
        reason,
        routineMs: fc.integer({ min: 0, max: 300 }),
        duration: fc.integer({ min: 700, max: 5000 }),
      });
      await fc.assert(
        fc.asyncProperty(arb, async (s) => {
          const { clock, nodes, redlock } = memoryCluster(s.latencies.length, { nodeTimeout: 200 });
          s.latencies.forEach((latency, i) => {
            nodes[i]!.faults.latency = latency;
          });
          const mark = unhandled.length;
          const controller = new AbortController();
          clock.setTimeout(() => controller.abort(reasonOf(s.reason)), s.abortAt);
          let observed: { outer: boolean; inner: boolean } | undefined;
          const outcome = await clock.settle(
            settled(
              redlock.using(
                ["job"],
                s.duration,
                { signal: controller.signal, fencing: s.fencing, retryCount: 0 },
                async (signal) => {
                  await new Promise<void>((resolve) => clock.setTimeout(resolve, s.routineMs));
                  observed = { outer: controller.signal.aborted, inner: signal.aborted };
                  return "done";
                },
              ),
            ),
          );
          if (outcome.ok) {
            expect(outcome.value).toBe("done");
            expect(observed).toBeDefined();
            if (observed?.outer) expect(observed.inner).toBe(true);
          } else {
            expect(outcome.error).toBeInstanceOf(ExecutionError);
            expect(observed).toBeUndefined();
          }
          await clock.advance(300);
          for (const n of nodes) expect(n.get("job")).toBeUndefined();
          await expectNoUnhandledSince(mark);
        }),
        { seed: SEED, numRuns: 150 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------

describe("regressions found by the properties above", () => {
  test("a lock-like object whose resources are not names is refused before any I/O", async () => {
    const spies = [new GrantingSpy("s0")];
    const redlock = new Redlock(spies);
    const forged = { value: "v", resources: [42, ""], remainingTime: () => 1000 };
    const released = await settled(redlock.release(forged as never));
    const extended = await settled(redlock.extend(forged as never, 1000));
    expect(released.ok).toBe(false);
    expect(extended.ok).toBe(false);
    if (!released.ok) expectInvalidArgument(released.error, ["INVALID_LOCK"], "lock");
    if (!extended.ok) expectInvalidArgument(extended.error, ["INVALID_LOCK"], "lock");
    expect(spies[0]!.calls).toEqual([]);
  });

  test("resources are validated on the values that are sent (an accessor element)", async () => {
    const spies = [new GrantingSpy("s0")];
    const redlock = new Redlock(spies);
    let reads = 0;
    const resources: string[] = [];
    Object.defineProperty(resources, 0, {
      enumerable: true,
      get: () => (reads++ === 0 ? "a" : 42),
    });
    const outcome = await settled(redlock.acquire(resources, 1000, { retryCount: 0 }));
    checkKeys(spies[0]!.calls);
    if (outcome.ok) expect((outcome.value as Lock).resources).toEqual(["a"]);
  });

  test("extend() refuses a duration that leaves no validity, as acquire() does", async () => {
    const { clock, nodes, recorders, redlock } = memoryCluster(3);
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    const before = recorders[0]!.calls.length;
    const outcome = await clock.settle(settled(lock.extend(2)));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expectInvalidArgument(outcome.error, ["INVALID_DURATION"], "duration");
    expect(recorders[0]!.calls.length).toBe(before);
    expect(nodes[0]!.get("a")).toBe(lock.value);
    expect(nodes[0]!.pttl("a")).toBe(10_000);
  });

  test("an extension that shortened the keys but came too late does not leave the old lock claiming validity", async () => {
    const { clock, nodes, redlock } = memoryCluster(3);
    for (const n of nodes) n.faults.latency = 30;
    const lock = await clock.settle(redlock.acquire(["a"], 10_000));
    const outcome = await clock.settle(settled(lock.extend(32, { retryCount: 0 })));
    expect(outcome.ok).toBe(false);
    const left = lock.remainingTime();
    const backing = nodes.filter((n) => n.get("a") === lock.value && n.pttl("a") >= left);
    if (left > 0) expect(backing.length).toBeGreaterThanOrEqual(2);
  });

  test("the constructor refuses a clock that is not a Clock", () => {
    for (const clock of [0, "now", {}, { now: () => 0 }]) {
      let thrown: unknown;
      try {
        new Redlock([new GrantingSpy("s0")], { clock: clock as never });
      } catch (error) {
        thrown = error;
      }
      expectInvalidArgument(thrown, ["INVALID_SETTING"], "settings.clock");
    }
  });

  test("using() never re-extends in a tight loop when the drift eats the threshold's room", async () => {
    const { clock, redlock } = memoryCluster(3);
    const at: number[] = [];
    redlock.on("extended", () => at.push(clock.now()));
    const outcome = await clock.settle(
      settled(
        redlock.using(
          ["a"],
          100_000,
          { automaticExtensionThreshold: 99_500, maxExtensions: 50 },
          () => new Promise((resolve) => clock.setTimeout(() => resolve("done"), 10)),
        ),
      ),
    );
    if (outcome.ok) {
      expect(at.length).toBeLessThanOrEqual(1);
    } else {
      expectInvalidArgument(outcome.error, ["INVALID_THRESHOLD"]);
    }
  });

  test("using(): a getter that throws after the lock was acquired does not leak the lock", async () => {
    const { clock, nodes, redlock } = memoryCluster(3);
    let acquired = false;
    const lost: Error[] = [];
    redlock.on("acquired", () => {
      acquired = true;
    });
    redlock.on("lost", (_lock, error) => lost.push(error));
    const settings = {
      get maxExtensions() {
        if (acquired) throw new Boom("maxExtensions");
        return undefined;
      },
    };
    await clock.settle(settled(redlock.using(["a"], 1000, settings, async () => "done")));
    for (const n of nodes) expect(n.get("a")).toBeUndefined();
    await clock.advance(2000);
    expect(lost).toEqual([]);
  });

  test("using(): an abort reason without a string form still aborts the routine's signal", async () => {
    const { clock, redlock } = memoryCluster(3);
    const controller = new AbortController();
    let inner: boolean | undefined;
    clock.setTimeout(() => controller.abort(Object.create(null)), 50);
    await clock.settle(
      redlock.using(["a"], 1000, { signal: controller.signal }, async (signal) => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
        inner = signal.aborted;
      }),
    );
    expect(inner).toBe(true);
  });

  test("using(): an abort during the fencing write-back reaches the routine", async () => {
    const { clock, nodes, redlock } = memoryCluster(3);
    for (const n of nodes) n.faults.latency = 10;
    const controller = new AbortController();
    clock.setTimeout(() => controller.abort(new Error("stop")), 15);
    const outcome = await clock.settle(
      settled(
        redlock.using(["a"], 1000, { signal: controller.signal, fencing: true }, async (signal) => {
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
          return signal.aborted;
        }),
      ),
    );
    if (outcome.ok) expect(outcome.value).toBe(true);
    else expect(outcome.error).toMatchObject({ code: "ABORTED" });
  });

  // Delays up to MAX_DURATION are accepted. FakeClock fires a delay above 2^31 - 1 ms after
  // 1 ms, as platform timers do, so these fail if such a delay reaches a timer unsplit.
  describe("delays above the timer limit (2^31 - 1 ms) are honoured", () => {
    test("retryDelay", async () => {
      const clock = new FakeClock();
      const held: ScriptRunner & { calls: number } = {
        name: "held",
        calls: 0,
        run: async () => {
          held.calls++;
          return 0;
        },
      };
      const redlock = new Redlock([held], { retryJitter: 0, clock });
      const controller = new AbortController();
      const pending = settled(
        redlock.acquire(["a"], 1000, {
          retryCount: 3,
          retryDelay: 2 ** 31,
          signal: controller.signal,
        }),
      );
      await clock.advance(2 ** 31 - 1);
      expect(held.calls).toBe(1);
      await clock.advance(1);
      expect(held.calls).toBe(2);
      controller.abort();
      const outcome = await pending;
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error).toMatchObject({ code: "ABORTED" });
    });

    test("nodeTimeout on release", async () => {
      const clock = new FakeClock();
      const node = new MemoryRunner({ name: "m", clock });
      const slow: ScriptRunner = {
        name: "slow",
        run: (script, keys, args) =>
          new Promise((resolve, reject) =>
            clock.setTimeout(() => node.run(script, keys, args).then(resolve, reject), 20),
          ),
      };
      const redlock = new Redlock([slow], { clock });
      const lock = await clock.settle(redlock.acquire(["a"], 5000));
      const outcome = await clock.settle(settled(redlock.release(lock, { nodeTimeout: 2 ** 31 })));
      expect(outcome.ok && (outcome.value as ReleaseResult).outcome).toBe("released");
      expect(clock.now()).toBe(40);
    });
  });
});

// ---------------------------------------------------------------------------------------------

const SOURCES = [
  ACQUIRE_SCRIPT,
  EXTEND_SCRIPT,
  RELEASE_SCRIPT,
  ACQUIRE_GUARDED_SCRIPT,
  FENCE_SCRIPT,
];
const HEX = /^[0-9a-f]{32}$/;

/**
 * Names are passed only as KEYS: every script is a built-in one, unchanged; the keys are the
 * prefixed names (plus fencing counters and the boot marker for the guarded script); the
 * arguments are exactly the value, the duration and the guarded script's flags.
 */
function expectOnlyKeys(
  redlock: Redlock,
  recorders: readonly Recorder[],
  names: readonly string[],
) {
  const keys = names.map((name) => redlock.keyPrefix + name);
  const scripts = new Set<LockScript>(Object.values(redlock.scripts));
  for (const recorder of recorders) {
    expect(recorder.calls.length).toBeGreaterThan(0);
    for (const { script, keys: sent, args } of recorder.calls) {
      expect(scripts.has(script)).toBe(true);
      expect(SOURCES).toContain(script.source);
      for (const name of names) {
        if (!SOURCES.some((source) => source.includes(name))) {
          expect(script.source.includes(name)).toBe(false);
        }
      }
      const kind = kindOf(script);
      if (kind === "fence") {
        expect(sent).toEqual(names.map((name) => fenceKey(name, redlock.keyPrefix)));
        expect(args).toHaveLength(1);
        expect(Number.isSafeInteger(args[0])).toBe(true);
        continue;
      }
      expect(sent.slice(0, keys.length)).toEqual(keys);
      for (const arg of args) {
        // Numbers, lock values, flags, and waiter ids (a random tag and a counter).
        const plain =
          typeof arg === "number"
            ? Number.isSafeInteger(arg)
            : /^([0-9a-f]{32}|0|1|[0-9a-f]{10}[0-9a-z]+|\*|)$/.test(arg) ||
              // A place in line: waiter id, check-in and window ms, a flag, waited ms.
              /^([0-9a-f]{10}[0-9a-z]+|\*|) \d+ \d+ [01] \d+$/.test(arg);
        expect(plain).toBe(true);
      }
      expect(String(args[0])).toMatch(HEX);
      const lines = keys.map((key) => waitingLineKey(key, redlock.keyPrefix));
      if (kind === "release") {
        // A waiter undoing a lost race adds its waiter id.
        expect(args.slice(0, 2)).toEqual([args[0], keys.length]);
        expect([2, 3]).toContain(args.length);
        expect(sent).toEqual([...keys, ...lines]);
      }
      if (kind === "acquire") {
        expect(sent).toEqual([...keys, ...lines]);
        expect(args).toHaveLength(3);
        expect(String(args[2])).toMatch(/^\S* \d+ \d+ [01] \d+$/);
        expect(Number.isSafeInteger(args[1])).toBe(true);
      }
      if (kind === "extend") {
        expect(sent).toHaveLength(keys.length);
        expect(args).toHaveLength(2);
        expect(Number.isSafeInteger(args[1])).toBe(true);
      }
      if (kind === "guarded") {
        const fencing = args[3] === "1";
        const firstLine = sent.length - keys.length + 1;
        expect(args).toEqual([
          args[0],
          args[1],
          keys.length,
          fencing ? "1" : "0",
          args[4],
          firstLine,
          args[6],
          args[7],
          args[8],
          args[9],
          args[10],
        ]);
        expect(sent.slice(keys.length, fencing ? 2 * keys.length : keys.length)).toEqual(
          fencing ? names.map((name) => fenceKey(name, redlock.keyPrefix)) : [],
        );
        expect(sent.slice(firstLine - 1)).toEqual(lines);
      }
    }
  }
}

const NAMES: readonly string[] = [
  '"',
  "'",
  `it's "quoted"`,
  "\n",
  "line 1\r\nline 2\n",
  "\0",
  "a\0b",
  "]]",
  "[[ ]]",
  "[=[",
  "--[[ comment",
  "%s %d %%",
  "..\\",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal "${" is one of the names under test
  "${x} $1",
  '"); redis.call("FLUSHALL") --',
  "end",
  "KEYS[1]",
  "ARGV[1]",
  "*",
  "{tag}",
  " ",
  "\t",
  "\u00e9",
  "e\u0301",
  "日本語",
  "🔒",
  "👨‍👩‍👧",
  "\u202eRTL",
  "\uD800",
  "\uDFFF",
  "\uFEFF",
  "x".repeat(65_536),
  "\u20ac".repeat(21_846),
  "🔒".repeat(16_384),
  "\0".repeat(65_536),
];

const label = (name: string) => {
  const shown = JSON.stringify(name);
  return shown.length > 40 ? `${shown.slice(0, 30)}… (${name.length} UTF-16 units)` : shown;
};

describe("resource names are opaque: any string works and travels only as a KEY", () => {
  test.each(NAMES.map((name) => [label(name), name] as const))(
    "%s: acquire, extend, release and using on 3 nodes",
    async (_label, name) => {
      const { clock, nodes, recorders, redlock } = memoryCluster(3);
      const lock = await clock.settle(redlock.acquire(name, 1000));
      expect(lock.resources).toEqual([name]);
      for (const n of nodes) expect(n.keys()).toEqual([name]);
      const extended = await clock.settle(lock.extend(2000));
      for (const n of nodes) expect(n.pttl(name)).toBe(2000);
      expect((await clock.settle(extended.release())).outcome).toBe("released");
      for (const n of nodes) expect(n.keys()).toEqual([]);
      const seen = await clock.settle(
        redlock.using([name], 1000, async (_signal, context) => context.lock.resources),
      );
      expect(seen).toEqual([name]);
      const fenced = await clock.settle(redlock.acquire([name], 1000, { fencing: true }));
      expect(fenced.fencingToken).toBe(1);
      await clock.settle(fenced.release());
      expectOnlyKeys(redlock, recorders, [name]);
    },
  );

  test("all of them at once, with a key prefix and the restart guard", async () => {
    const { clock, nodes, recorders, redlock } = memoryCluster(3, {
      keyPrefix: "p:",
      restartGuard: { period: 10 },
    });
    const lock = await clock.settle(redlock.acquire(NAMES, 1000, { fencing: true }));
    for (const n of nodes) {
      for (const name of NAMES) expect(n.get(`p:${name}`)).toBe(lock.value);
    }
    const extended = await clock.settle(lock.extend(1000));
    expect((await clock.settle(extended.release())).outcome).toBe("released");
    for (const n of nodes) {
      for (const name of NAMES) expect(n.get(`p:${name}`)).toBeUndefined();
    }
    expectOnlyKeys(redlock, recorders, NAMES);
  });

  test("NFC and NFD spellings are distinct resources", async () => {
    const { clock, redlock } = memoryCluster(3);
    const composed = await clock.settle(redlock.acquire(["\u00e9"], 1000));
    const decomposed = await clock.settle(redlock.acquire(["e\u0301"], 1000, { retryCount: 0 }));
    expect(decomposed.value).not.toBe(composed.value);
  });

  test("a 64 KiB name held by another lock gives a short error message", async () => {
    const { clock, redlock } = memoryCluster(3);
    const name = "x".repeat(65_536);
    await clock.settle(redlock.acquire([name], 10_000));
    const outcome = await clock.settle(
      settled(redlock.acquire([name, "\n"], 1000, { retryCount: 0 })),
    );
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error).toBeInstanceOf(ResourceLockedError);
      expect((outcome.error as Error).message.length).toBeLessThan(300);
    }
  });

  test("names of fencing counters are reserved: refused before any I/O, never overwritten", async () => {
    const { clock, nodes, redlock } = memoryCluster(3);
    const fenced = await clock.settle(redlock.acquire(["garden"], 1000, { fencing: true }));
    await clock.settle(fenced.release());
    const calls = nodes.map((n) => n.stats.calls);
    const other = await clock.settle(
      settled(redlock.acquire([fenceKey("garden")], 1000, { retryCount: 0 })),
    );
    expect(other.ok).toBe(false);
    expect((other as { error: unknown }).error).toMatchObject({
      code: "INVALID_ARGUMENT",
      reason: "RESERVED_RESOURCE",
    });
    expect(nodes.map((n) => n.stats.calls)).toEqual(calls);
    // The counter itself is untouched and keeps counting.
    const next = await clock.settle(redlock.acquire(["garden"], 1000, { fencing: true }));
    expect(next.fencingToken).toBe((fenced.fencingToken ?? 0) + 1);
  });

  test(
    `random unicode names, any count, round-trip as KEYS only (fast-check seed ${SEED})`,
    async () => {
      const big = fc.constantFrom(
        "y".repeat(65_536),
        "\u{1F512}".repeat(16_384),
        "\0\n\"'".repeat(4096),
      );
      const names = fc.uniqueArray(
        fc.oneof(
          { weight: 20, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 24 }) },
          { weight: 1, arbitrary: big },
        ),
        { minLength: 1, maxLength: 8 },
      );
      await fc.assert(
        fc.asyncProperty(
          names,
          fc.string({ unit: "binary", maxLength: 4 }),
          fc.boolean(),
          async (list, keyPrefix, fencing) => {
            const { clock, nodes, recorders, redlock } = memoryCluster(3, { keyPrefix });
            const lock = await clock.settle(redlock.acquire(list, 1000, { fencing }));
            for (const n of nodes) {
              for (const name of list) expect(n.get(keyPrefix + name)).toBe(lock.value);
            }
            const extended = await clock.settle(lock.extend(1500));
            expect((await clock.settle(extended.release())).outcome).toBe("released");
            for (const n of nodes) {
              for (const name of list) expect(n.get(keyPrefix + name)).toBeUndefined();
            }
            expectOnlyKeys(redlock, recorders, list);
          },
        ),
        { seed: SEED, numRuns: 100 },
      );
    },
    CPU_BOUND_TIMEOUT,
  );
});
