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

/** The test API the suite registers its tests with, such as `{ describe, it, expect, beforeAll, afterAll, beforeEach }`. */
export interface SuiteApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<unknown>, timeout?: number): void;
  expect(actual: unknown): Matchers;
  beforeAll(fn: () => Promise<unknown>, timeout?: number): void;
  afterAll(fn: () => Promise<unknown>, timeout?: number): void;
  beforeEach(fn: () => Promise<unknown>, timeout?: number): void;
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
  /** Freeze the node: requests wait, unanswered, until `resume()`. Optional. */
  pause?(): Promise<void>;
  /** Unfreeze a paused node. */
  resume?(): Promise<void>;
  /** Make the node fail every request at once (connection refused or reset). Optional. */
  down?(): Promise<void>;
  /** Bring a downed node back. */
  up?(): Promise<void>;
}

/** What an adapter gives the suite: nodes to test on. */
export interface ConformanceTarget {
  /** Shown in test names, such as `"ioredis 6"`. */
  readonly name: string;
  /** Start (or connect to) `count` independent nodes; called once before the tests. */
  setup(count: number): Promise<ConformanceNode[]>;
  /** Close everything `setup` opened; called once after the tests. */
  teardown(): Promise<void>;
}

/** Options of `adapterConformanceSuite`. */
export interface SuiteOptions {
  /** Per-test timeout in ms. @default 30000 */
  readonly timeout?: number;
}
