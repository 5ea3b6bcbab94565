import { Redlock, type RedlockOptions } from "@redlock/core";
import type { ConformanceNode, ConformanceTarget, SuiteApi } from "./types";

/** The nodes of the current run, shared by every group; reset before each test. */
export class SuiteContext {
  nodes: ConformanceNode[] = [];
  #prefix = 0;

  constructor(
    readonly api: SuiteApi,
    readonly target: ConformanceTarget,
  ) {}

  /** The first `count` nodes. */
  take(count: number): ConformanceNode[] {
    if (this.nodes.length < count) {
      throw new Error(
        `${this.target.name}: setup returned ${this.nodes.length} nodes, the suite needs ${count}`,
      );
    }
    return this.nodes.slice(0, count);
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

async function waitUntilAnswering(node: ConformanceNode): Promise<void> {
  const probe = new Redlock([node.runner], { retryCount: 0, nodeTimeout: 500 });
  const ok = await eventually(async () => {
    try {
      await probe.release(await probe.acquire(["conformance:probe"], 1000));
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  if (!ok) throw new Error(`node ${node.runner.name ?? "?"} does not answer after reset`);
}
