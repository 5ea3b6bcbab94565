import { checkSections } from "../src/checker";
import { deriveSeed, Rng } from "../src/prng";
import type { SectionRecord } from "../src/types";

let seq = 0;
function section(
  worker: number,
  enter: number,
  exit: number,
  deadline: number,
  extra: Partial<SectionRecord> = {},
): SectionRecord {
  return {
    worker,
    resource: "r",
    seq: seq++,
    acquireStart: enter - 5,
    acquireEnd: enter,
    enter,
    exit,
    deadline,
    overran: exit > deadline,
    remainingAtExit: exit > deadline ? 0 : deadline - exit,
    expirationPassedAtExit: exit > deadline,
    access: "ok",
    read: 0,
    attempts: 1,
    workMs: exit - enter,
    ...extra,
  };
}

describe("checkSections", () => {
  test("disjoint sections: no overlap, no lost update", () => {
    const report = checkSections([section(0, 0, 10, 100), section(1, 20, 30, 120)], { r: 2 });
    expect(report.overlapsBug).toBe(0);
    expect(report.overlapsAfterValidity).toBe(0);
    expect(report.lostUpdates).toBe(0);
  });

  test("a second holder entering inside the first one's validity is a bug", () => {
    const report = checkSections([section(0, 0, 50, 100), section(1, 40, 60, 140)], { r: 1 });
    expect(report.overlapsBug).toBe(1);
    expect(report.bugExamples[0]?.overlapMs).toBeCloseTo(10);
    expect(report.lostUpdates).toBe(1);
  });

  test("entering after an overrunning holder's deadline is an after-validity overlap", () => {
    const report = checkSections([section(0, 0, 150, 100), section(1, 120, 130, 220)], { r: 1 });
    expect(report.overlapsBug).toBe(0);
    expect(report.overlapsAfterValidity).toBe(1);
    expect(report.overran).toBe(1);
  });

  test("fenced: a rejected stale write neutralizes the overlap and is not a lost update", () => {
    const stale = section(0, 0, 150, 100, { token: 1, access: "rejected-write" });
    const fresh = section(1, 120, 130, 220, { token: 2 });
    const report = checkSections([stale, fresh], { r: 1 });
    expect(report.overlapsNeutralized).toBe(1);
    expect(report.rejectedWrites).toBe(1);
    expect(report.lostUpdates).toBe(0);
  });

  test("fencing order: a later acquisition with a token not above an earlier finished one", () => {
    const a = section(0, 10, 20, 100, { token: 5 });
    const b = section(1, 30, 40, 130, { token: 5, acquireStart: 25 });
    const c = section(2, 50, 60, 150, { token: 9, acquireStart: 45 });
    const report = checkSections([a, b, c], { r: 3 });
    expect(report.tokenViolations).toBe(1);
    expect(report.tokenExamples[0]?.later).toBe(b);
    expect(report.tokenPairsChecked).toBe(3);
  });

  test("acquisitions that overlap in time are not compared", () => {
    const a = section(0, 10, 20, 100, { token: 5, acquireStart: 0 });
    const b = section(1, 30, 40, 130, { token: 4, acquireStart: 5 });
    expect(checkSections([a, b], { r: 2 }).tokenViolations).toBe(0);
  });
});

describe("seeds", () => {
  test("the PRNG and derived seeds replay", () => {
    const draw = (seed: number) => {
      const rng = new Rng(deriveSeed(seed, "nemesis"));
      return Array.from({ length: 5 }, () => rng.weighted({ a: 1, b: 2, c: 3 }));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(deriveSeed(42, "x")).not.toBe(deriveSeed(42, "y"));
  });
});
