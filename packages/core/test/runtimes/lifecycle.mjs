import { quorum, Redlock, ResourceLockedError } from "../../dist/index.js";
import { MemoryRunner } from "../../dist/testing.js";

const NODES = 3;
const HEX_VALUE = /^[0-9a-f]{32}$/;

/** Which JavaScript runtime this module is evaluated in, and its version. */
export function detectRuntime() {
  const g = globalThis;
  if (typeof g.Bun !== "undefined") return { runtime: "bun", version: g.Bun.version };
  if (typeof g.Deno !== "undefined") return { runtime: "deno", version: g.Deno.version.deno };
  if (g.navigator?.userAgent === "Cloudflare-Workers") {
    return { runtime: "workerd", version: g.navigator.userAgent };
  }
  if (g.process?.versions?.node) {
    return { runtime: "node", version: g.process.versions.node };
  }
  return { runtime: "unknown", version: "" };
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const randomBytesDiffer = () => {
  const first = crypto.getRandomValues(new Uint8Array(16));
  const second = crypto.getRandomValues(new Uint8Array(16));
  return first.some((byte, i) => byte !== second[i]);
};

const holders = (runners, keys, value) =>
  runners.filter((runner) => keys.every((key) => runner.get(key) === value)).length;

const liveKeys = (runners, keys) =>
  runners.reduce((count, runner) => count + keys.filter((key) => runner.get(key)).length, 0);

/**
 * Run a full lock lifecycle on the built dist with in-memory nodes and the real system clock.
 * Never throws: every check is reported, and an unexpected error is captured in `error`.
 */
export async function runLifecycle() {
  const started = performance.now();
  const checks = {};
  const check = (name, condition) => {
    checks[name] = Boolean(condition);
  };
  let error;

  try {
    const runners = Array.from({ length: NODES }, (_, i) => new MemoryRunner({ name: `n${i}` }));
    const redlock = new Redlock(runners, { retryJitter: 0 });
    const values = [];

    const lock = await redlock.acquire(["a", "b"], 1000);
    values.push(lock.value);
    check("acquire.value", HEX_VALUE.test(lock.value));
    check("acquire.quorum", holders(runners, ["a", "b"], lock.value) >= quorum(NODES));
    check("acquire.remaining", lock.remainingTime() > 0 && lock.remainingTime() <= 1000);

    const rival = new Redlock(runners, { retryCount: 0 });
    let rivalError;
    try {
      await rival.acquire(["b"], 1000);
    } catch (caught) {
      rivalError = caught;
    }
    check("conflict.resourceLocked", rivalError instanceof ResourceLockedError);
    check("conflict.code", rivalError?.code === "RESOURCE_LOCKED");
    check("conflict.untouched", holders(runners, ["a", "b"], lock.value) === NODES);

    const extended = await lock.extend(2000);
    check("extend.value", extended.value === lock.value);
    check("extend.retired", lock.expiration === 0 && lock.remainingTime() === 0);
    check("extend.remaining", extended.remainingTime() > 1000);
    check(
      "extend.ttl",
      runners.every((runner) => runner.pttl("a") > 1000),
    );

    const released = await extended.release();
    check("release.outcome", released.outcome === "released");
    check("release.keysGone", liveKeys(runners, ["a", "b"]) === 0);

    const usingResult = await redlock.using(
      ["c"],
      1000,
      { automaticExtensionThreshold: 800 },
      async (signal, ctx) => {
        values.push(ctx.lock.value);
        const heldBefore = holders(runners, ["c"], ctx.lock.value);
        await delay(400);
        return {
          heldBefore,
          heldAfter: holders(runners, ["c"], ctx.lock.value),
          extensions: ctx.extensions,
          aborted: signal.aborted,
        };
      },
    );
    check("using.held", usingResult.heldBefore >= quorum(NODES));
    check("using.heldAfterWait", usingResult.heldAfter >= quorum(NODES));
    check("using.extended", usingResult.extensions >= 1);
    check("using.notAborted", !usingResult.aborted);
    check("using.released", liveKeys(runners, ["c"]) === 0);

    for (let i = 0; i < 8; i++) {
      const each = await redlock.acquire([`r${i}`], 1000);
      values.push(each.value);
      await each.release();
    }
    check(
      "random.format",
      values.every((value) => HEX_VALUE.test(value)),
    );
    check("random.distinct", new Set(values).size === values.length);
    check("random.direct", randomBytesDiffer());
    check(
      "cleanup.noKeys",
      runners.every((runner) => runner.keys().length === 0),
    );
  } catch (caught) {
    error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
  }

  const failed = Object.keys(checks).filter((name) => !checks[name]);
  return {
    ...detectRuntime(),
    ok: error === undefined && failed.length === 0 && Object.keys(checks).length > 0,
    failed,
    error,
    checks,
    ms: Math.round(performance.now() - started),
  };
}
