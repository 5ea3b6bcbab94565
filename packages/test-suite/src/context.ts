import { Redlock, type RedlockOptions, type ScriptRunner } from "@redlock/core";
import type {
  ConformanceNode,
  ConformanceTarget,
  Control,
  GroupName,
  OpenedRunner,
  SuiteApi,
  SuiteOptions,
} from "./types";

/** How long a runner may take to reject a call once its signal aborted. */
export const PROMPT_MS = 1000;
/** How long a listener may take to hear a release, and a waiter to get a released lock. */
export const WAKE_MS = 5000;
/** Hang guard for what must settle: `quit()`, subscriptions, calls after `quit()`. */
export const SETTLE_MS = 10_000;

/** The nodes of the current run, shared by every group; reset before each test. */
export class SuiteContext {
  nodes: ConformanceNode[] = [];
  readonly timeout: number;
  #prefix = 0;

  constructor(
    readonly api: SuiteApi,
    readonly target: ConformanceTarget,
    readonly options: SuiteOptions = {},
  ) {
    this.timeout = options.timeout ?? 30_000;
  }

  /**
   * Register one test of `group` that needs `controls`. It is reported as skipped, with the
   * reason in its name, when the group is switched off or the target lacks one of the controls.
   */
  test(group: GroupName, name: string, controls: readonly Control[], fn: () => Promise<void>) {
    const reason = this.skipReason(group, controls);
    if (reason === undefined) return this.api.it(name, fn, this.timeout);
    const label = `${name} [${reason}]`;
    if (this.api.it.skip) return this.api.it.skip(label, fn, this.timeout);
    console.warn(
      `[@redlock/test-suite] ${this.target.name}: "${label}" is left out: pass a test function with .skip (it.skip) to have it reported as skipped.`,
    );
  }

  /** Why a test of `group` needing `controls` cannot run, or undefined when it can. */
  skipReason(group: GroupName, controls: readonly Control[]): string | undefined {
    if (this.options.groups?.[group] === false) return `groups.${group} is switched off`;
    for (const control of controls) {
      const reason = this.target.unavailable?.[control];
      if (reason) return reason;
      if (control === "cluster" && !this.target.cluster) return "the target is no Redis Cluster";
    }
    return undefined;
  }

  /** The first `count` nodes. */
  take(count: number): ConformanceNode[] {
    if (this.nodes.length < count) {
      throw new Error(
        `${this.target.name}: setup returned ${this.nodes.length} nodes, the suite needs ${count}`,
      );
    }
    return this.nodes.slice(0, count);
  }

  /** Fail, saying how to declare it unavailable, unless `node` has `control`. */
  need(node: ConformanceNode, control: Exclude<Control, "cluster">): void {
    const methods = {
      pause: [node.pause, node.resume],
      down: [node.down, node.up],
      openRunner: [node.openRunner],
    }[control];
    if (methods.every((method) => typeof method === "function")) return;
    throw new Error(
      `${this.target.name}: node ${node.runner.name ?? "?"} has no ${control}() control. ` +
        `List it in the target's \`unavailable\` ({ ${control}: "why" }) to have the tests that need it reported as skipped.`,
    );
  }

  /** Another runner for `node`, from its `openRunner` control. */
  async openRunner(node: ConformanceNode): Promise<OpenedRunner> {
    this.need(node, "openRunner");
    return (node.openRunner as () => Promise<OpenedRunner>)();
  }

  /**
   * `runner.onRelease` or `runner.quit`, bound to the runner; fails, saying how to switch the
   * group off, when the runner has none.
   */
  capability<M extends "onRelease" | "quit">(
    runner: ScriptRunner,
    method: M,
    group: GroupName,
  ): NonNullable<ScriptRunner[M]> {
    const found = runner[method];
    if (typeof found !== "function") {
      throw new Error(
        `${this.target.name}: the runner has no ${method}(). Switch the group off with { groups: { ${group}: false } } if it is not meant to have one.`,
      );
    }
    return found.bind(runner) as NonNullable<ScriptRunner[M]>;
  }

  /** A Redlock over the first `count` nodes, deterministic delays. */
  redlock(count: number, settings: RedlockOptions = {}): Redlock {
    return new Redlock(
      this.take(count).map((node) => node.runner),
      { retryJitter: 0, retryDelay: 20, ...settings },
    );
  }

  /** A resource name no other test uses. */
  key(label: string): string {
    return `conformance:${++this.#prefix}:${label}`;
  }

  /** Bring every node back to a clean, reachable state. */
  async reset(): Promise<void> {
    for (const node of this.nodes) {
      await node.resume?.();
      await node.up?.();
    }
    await Promise.all(this.nodes.map((node) => waitUntilAnswering(node)));
    await Promise.all(this.nodes.map((node) => node.flushAll()));
  }
}

/** Poll `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `promise`, unless `ms` pass first: then reject with `failure`. A bound the runner must meet,
 * never a pause.
 */
export async function within<T>(promise: Promise<T>, ms: number, failure: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${failure} (waited ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a promise settled. */
export type Settled<T> = { status: "fulfilled"; value: T } | { status: "rejected"; error: unknown };

/** Resolves with how `promise` settled; never rejects. */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (error: unknown) => ({ status: "rejected", error }),
  );
}

/**
 * One line for `error` and its causes: name, message and code of each, outermost first (the
 * errors of an `AggregateError` too), so that the driver's own words are never hidden.
 */
export function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  let text = `${error.name}: ${error.message}${code === undefined ? "" : ` (code ${String(code)})`}`;
  const inner: unknown[] =
    error instanceof AggregateError ? error.errors : error.cause === undefined ? [] : [error.cause];
  if (depth < 5 && inner.length > 0) {
    text += ` <- ${inner.map((cause) => describeError(cause, depth + 1)).join("; ")}`;
  }
  return text;
}

/** Wait until `node` takes and releases a lock through its runner, or fail with the last error. */
async function waitUntilAnswering(node: ConformanceNode): Promise<void> {
  const probe = new Redlock([node.runner], { retryCount: 0, nodeTimeout: 500 });
  let last: unknown;
  const ok = await eventually(async () => {
    try {
      await probe.release(await probe.acquire(["conformance:probe"], 1000));
      return true;
    } catch (error) {
      last = error;
      return false;
    }
  }, 10_000);
  if (!ok) {
    throw new Error(
      `node ${node.runner.name ?? "?"} does not answer after reset; last error: ${describeError(last)}`,
      { cause: last },
    );
  }
}
