import { SuiteContext } from "./context";
import { faultsGroup } from "./faults-group";
import { lifecycleGroup } from "./lifecycle-group";
import { scriptsGroup } from "./scripts-group";
import type { ConformanceTarget, SuiteApi, SuiteOptions } from "./types";

/** Nodes the suite asks the target for. */
export const CONFORMANCE_NODES = 5;

/**
 * Register the adapter conformance tests with your test runner. Pass the runner's API and a target
 * that starts five independent Redis nodes and builds your runner for each.
 *
 * @example
 * ```ts
 * import { adapterConformanceSuite } from "@redlock/test-suite";
 * adapterConformanceSuite({ describe, it, expect, beforeAll, afterAll, beforeEach }, myTarget);
 * ```
 */
export function adapterConformanceSuite(
  api: SuiteApi,
  target: ConformanceTarget,
  options: SuiteOptions = {},
): void {
  const timeout = options.timeout ?? 30_000;
  const ctx = new SuiteContext(api, target);
  api.describe(`@redlock adapter conformance: ${target.name}`, () => {
    api.beforeAll(async () => {
      ctx.nodes = await target.setup(CONFORMANCE_NODES);
    }, 120_000);
    api.afterAll(async () => {
      await target.teardown();
    }, 120_000);
    api.beforeEach(() => ctx.reset(), 30_000);
    scriptsGroup(ctx, timeout);
    lifecycleGroup(ctx, timeout);
    faultsGroup(ctx, timeout);
  });
}
