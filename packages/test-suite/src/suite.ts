import { abortGroup } from "./abort-group";
import { clusterGroup } from "./cluster-group";
import { SuiteContext } from "./context";
import { faultsGroup } from "./faults-group";
import { lifecycleGroup } from "./lifecycle-group";
import { onReleaseGroup } from "./on-release-group";
import { quitGroup } from "./quit-group";
import { scriptsGroup } from "./scripts-group";
import type { ConformanceTarget, SuiteApi, SuiteOptions } from "./types";

/** Nodes the suite asks the target for. */
export const CONFORMANCE_NODES = 5;

/**
 * Register the adapter conformance tests with your test runner. Pass the runner's API and a target
 * that starts five independent Redis nodes and builds your runner for each. Tests a target cannot
 * run, and groups switched off in `options.groups`, are reported as skipped.
 *
 * @example
 * ```ts
 * import { adapterConformanceSuite } from "@redlock/test-suite";
 * adapterConformanceSuite({ describe, it, expect, beforeAll, afterAll, beforeEach }, myTarget, {
 *   groups: { quit: false },
 * });
 * ```
 */
export function adapterConformanceSuite(
  api: SuiteApi,
  target: ConformanceTarget,
  options: SuiteOptions = {},
): void {
  const ctx = new SuiteContext(api, target, options);
  api.describe(`@redlock adapter conformance: ${target.name}`, () => {
    api.beforeAll(async () => {
      ctx.nodes = await target.setup(CONFORMANCE_NODES);
    }, 120_000);
    api.afterAll(async () => {
      await target.teardown();
    }, 120_000);
    api.beforeEach(() => ctx.reset(), 30_000);
    scriptsGroup(ctx);
    lifecycleGroup(ctx);
    faultsGroup(ctx);
    onReleaseGroup(ctx);
    abortGroup(ctx);
    quitGroup(ctx);
    clusterGroup(ctx);
  });
}
