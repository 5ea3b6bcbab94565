import type { ScriptRunner } from "@redlock/core";

/** The matchers the suite uses; jest's and vitest's `expect` both provide them. */
export interface Matchers {
  toBe(expected: unknown): unknown;
  toEqual(expected: unknown): unknown;
  toBeGreaterThan(expected: number): unknown;
  toBeLessThanOrEqual(expected: number): unknown;
  toMatch(expected: string | RegExp): unknown;
  toBeDefined(): unknown;
}

/** Registers a test: jest's or vitest's `it` (or `test`). */
export interface TestFunction {
  (name: string, fn: () => Promise<unknown>, timeout?: number): void;
  /**
   * Registers a test that is reported as skipped (`it.skip`). Tests that cannot run on the
   * target, or whose group is switched off, are registered with it; without it they are left
   * out with a printed warning. Never are they reported as passed.
   */
  skip?: (name: string, fn: () => Promise<unknown>, timeout?: number) => void;
}

/** The test API the suite registers its tests with, such as `{ describe, it, expect, beforeAll, afterAll, beforeEach }`. */
export interface SuiteApi {
  describe(name: string, fn: () => void): void;
  it: TestFunction;
  expect(actual: unknown): Matchers;
  beforeAll(fn: () => Promise<unknown>, timeout?: number): void;
  afterAll(fn: () => Promise<unknown>, timeout?: number): void;
  beforeEach(fn: () => Promise<unknown>, timeout?: number): void;
}

/** A further runner for one node, made like the node's own and owned by the suite (which may quit it). */
export interface OpenedRunner {
  readonly runner: ScriptRunner;
  /** How many connections the runner holds open to the node right now: 0 once it quit. */
  openConnections(): Promise<number>;
}

/**
 * One Redis node as the suite sees it: the runner under test, plus direct access to the node that
 * bypasses the runner (for setup and checks).
 */
export interface ConformanceNode {
  /** The runner under test for this node. */
  readonly runner: ScriptRunner;
  /** `SCRIPT FLUSH`: forget cached scripts. */
  flushScripts(): Promise<void>;
  /** `FLUSHALL`: delete every key. */
  flushAll(): Promise<void>;
  /** `SET key value PX ttlMs`, to hold a resource under a foreign value. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** `GET key` (`null` when absent). */
  get(key: string): Promise<string | null>;
  /** `PTTL key`. */
  pttl(key: string): Promise<number>;
  /** Freeze the node: requests wait, unanswered, until `resume()`. Control `pause`. */
  pause?(): Promise<void>;
  /** Unfreeze a paused node. */
  resume?(): Promise<void>;
  /** Make the node fail every request at once (connection refused or reset). Control `down`. */
  down?(): Promise<void>;
  /** Bring a downed node back. */
  up?(): Promise<void>;
  /** Make another runner for this node; the target closes it at teardown. Control `openRunner`. */
  openRunner?(): Promise<OpenedRunner>;
}

/** What the suite may need beyond a runner and direct access to each node. */
export type Control = "pause" | "down" | "openRunner" | "cluster";

/**
 * A Redis Cluster and a runner over it, for the cluster routing group. Masters are addressed
 * directly, bypassing the runner.
 */
export interface ConformanceCluster {
  /** The runner under test, over a cluster client. */
  readonly runner: ScriptRunner;
  /** How many masters serve the slots. */
  readonly masters: number;
  /** Index (0 to `masters` − 1) of the master serving `key`'s hash slot. */
  masterOf(key: string): Promise<number>;
  /** `GET key` on the master serving its slot (`null` when absent). */
  get(key: string): Promise<string | null>;
  /** `SCRIPT FLUSH` on every master. */
  flushScripts(): Promise<void>;
  /** `FLUSHALL` on every master. */
  flushAll(): Promise<void>;
}

/** Starts (or connects to) a Redis Cluster for the cluster routing group. */
export interface ClusterTarget {
  /** Called once, before the cluster routing group. */
  setup(): Promise<ConformanceCluster>;
  /** Close what `setup` opened; called once after the group. */
  teardown(): Promise<void>;
}

/** What an adapter gives the suite: nodes to test on. */
export interface ConformanceTarget {
  /** Shown in test names, such as `"ioredis 6"`. */
  readonly name: string;
  /** Start (or connect to) `count` independent nodes; called once before the tests. */
  setup(count: number): Promise<ConformanceNode[]>;
  /** Close everything `setup` opened; called once after the tests. */
  teardown(): Promise<void>;
  /**
   * Controls the target cannot offer, each with the reason, known before `setup`: the tests that
   * need one are reported as skipped, the reason in their name. A test that needs a control
   * neither listed here nor offered by the node fails, saying so.
   * @example `{ pause: "the nodes are managed elsewhere", openRunner: "one client per node" }`
   */
  readonly unavailable?: Readonly<Partial<Record<Control, string>>>;
  /** A Redis Cluster for the cluster routing group; without it that group is skipped. */
  readonly cluster?: ClusterTarget;
}

/**
 * Switches for the groups of tests; every group is on unless switched off with `false`. A
 * switched-off group is reported as skipped.
 */
export interface SuiteGroups {
  /** Script round trip, reply decoding, unusual key names, `NOSCRIPT` fallback. */
  readonly scripts?: boolean;
  /** Acquire, extend, release and expiry on 1, 3 and 5 nodes; every quorum mask of 3 and 5. */
  readonly lifecycle?: boolean;
  /** Error wrapping of a failing node, a paused minority, a down majority. */
  readonly faults?: boolean;
  /** `runner.onRelease`: announcements reach listeners and wake waiters; unsubscribing. */
  readonly onRelease?: boolean;
  /** `signal` without `enforced`: prompt rejection, nothing sent after the abort. */
  readonly abortSignals?: boolean;
  /** `runner.quit()`: pending calls settle, no connection stays open. */
  readonly quit?: boolean;
  /** Routing over a Redis Cluster (only where the target has `cluster`). */
  readonly cluster?: boolean;
}

/** The name of a group of tests. */
export type GroupName = keyof SuiteGroups;

/** Options of `adapterConformanceSuite`. */
export interface SuiteOptions {
  /** Per-test timeout in ms. @default 30000 */
  readonly timeout?: number;
  /** Groups to switch off, such as `{ quit: false }` for a runner without `quit()`. */
  readonly groups?: SuiteGroups;
}
