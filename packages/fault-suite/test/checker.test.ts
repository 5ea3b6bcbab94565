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

describe("checkSections: semaphores (permits weighted against the limit)", () => {
  const limits = { r: 2 };
  const permits = (
    worker: number,
    enter: number,
    exit: number,
    deadline: number,
    n = 1,
  ): SectionRecord => section(worker, enter, exit, deadline, { permits: n });

  test("up to the limit at once is allowed, and the peak is reported", () => {
    const report = checkSections(
      [permits(0, 0, 50, 100), permits(1, 10, 60, 110), permits(2, 70, 80, 170)],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(0);
    expect(report.overlapsAfterValidity).toBe(0);
    expect(report.peakPermits).toEqual({ r: 2 });
    expect(report.lostUpdates).toBe(0);
  });

  test("a third single permit inside two valid holders goes over the limit", () => {
    const third = permits(2, 20, 30, 120);
    const report = checkSections(
      [permits(0, 0, 50, 100), permits(1, 10, 60, 110), third],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(1);
    expect(report.peakPermits).toEqual({ r: 3 });
    expect(report.limitExamples[0]?.section).toBe(third);
    expect(report.limitExamples[0]?.permits).toBe(3);
    expect(report.limitExamples[0]?.holders.map((h) => h.worker)).toEqual([0, 1]);
  });

  test("sections are weighted by permits: 2 + 1 goes over a limit of 2, 1 + 1 does not", () => {
    const over = checkSections(
      [permits(0, 0, 50, 100, 2), permits(1, 10, 20, 110)],
      {},
      { limits },
    );
    expect(over.overlapsBug).toBe(1);
    expect(over.peakPermits).toEqual({ r: 3 });
    const within = checkSections([permits(0, 0, 50, 100), permits(1, 10, 20, 110)], {}, { limits });
    expect(within.overlapsBug).toBe(0);
  });

  test("the excess is counted at entries, once per entry that goes over", () => {
    // Four single permits inside one another: the third and the fourth entry go over.
    const report = checkSections(
      [
        permits(0, 0, 90, 200),
        permits(1, 10, 80, 210),
        permits(2, 20, 70, 220),
        permits(3, 30, 60, 230),
      ],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(2);
    expect(report.peakPermits).toEqual({ r: 4 });
  });

  test("touching intervals do not overlap: entering at another's exit or deadline", () => {
    const atExit = checkSections(
      [permits(0, 0, 50, 100, 2), permits(1, 50, 60, 150)],
      {},
      { limits },
    );
    expect(atExit.overlapsBug).toBe(0);
    expect(atExit.overlapsAfterValidity).toBe(0);
    expect(atExit.peakPermits).toEqual({ r: 2 });
    // Holder 0 overran: at its deadline (50) it stops counting as valid, not before.
    const atDeadline = checkSections(
      [permits(0, 0, 80, 50, 2), permits(1, 50, 60, 150)],
      {},
      { limits },
    );
    expect(atDeadline.overlapsBug).toBe(0);
    expect(atDeadline.overlapsAfterValidity).toBe(1);
    const justBefore = checkSections(
      [permits(0, 0, 80, 50.001, 2), permits(1, 50, 60, 150)],
      {},
      { limits },
    );
    expect(justBefore.overlapsBug).toBe(1);
  });

  test("equal entries: the excess is found whichever of them sorts first", () => {
    const report = checkSections(
      [permits(0, 0, 50, 100), permits(1, 10, 50, 110), permits(2, 10, 50, 110)],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(1);
    expect(report.peakPermits).toEqual({ r: 3 });
  });

  test("equal ends: sections ending together free their permits together", () => {
    const report = checkSections(
      [permits(0, 0, 40, 100), permits(1, 10, 40, 110), permits(2, 40, 60, 140, 2)],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(0);
    expect(report.peakPermits).toEqual({ r: 2 });
  });

  test("an overrunning holder's permits count only after validity", () => {
    // Holder 0 (2 permits) overran its deadline at 100; 1 and 2 entered after it.
    const report = checkSections(
      [permits(0, 0, 200, 100, 2), permits(1, 120, 150, 220), permits(2, 130, 140, 230)],
      {},
      { limits },
    );
    expect(report.overlapsBug).toBe(0);
    expect(report.overlapsAfterValidity).toBe(2);
    expect(report.overran).toBe(1);
    expect(report.peakPermits).toEqual({ r: 2 });
  });

  test("a worker's own sections are never counted together", () => {
    const report = checkSections(
      [permits(0, 0, 50, 100, 2), permits(0, 10, 20, 110)],
      {},
      { limits: { r: 2 } },
    );
    expect(report.overlapsBug).toBe(0);
  });

  test("sections with permits need their resource's limit", () => {
    expect(() => checkSections([permits(0, 0, 10, 100)], {})).toThrow(/no limit/);
  });
});

describe("checkSections: read-write locks (a write overlaps nothing)", () => {
  const read = (worker: number, enter: number, exit: number, deadline: number) =>
    section(worker, enter, exit, deadline, { hold: "read" });
  const write = (worker: number, enter: number, exit: number, deadline: number) =>
    section(worker, enter, exit, deadline, { hold: "write" });

  test("readers overlap freely, and the overlaps are counted as allowed", () => {
    const report = checkSections(
      [read(0, 0, 50, 100), read(1, 10, 60, 110), read(2, 20, 30, 120)],
      { r: 0 },
    );
    expect(report.overlapsBug).toBe(0);
    expect(report.readOverlaps).toBe(3);
    expect(report.lostUpdates).toBe(0);
  });

  test("a writer entering inside a valid reader, or a reader inside a valid writer, is a bug", () => {
    const writerInReader = checkSections([read(0, 0, 50, 100), write(1, 40, 60, 140)], { r: 1 });
    expect(writerInReader.overlapsBug).toBe(1);
    expect(writerInReader.bugExamples[0]?.overlapMs).toBeCloseTo(10);
    const readerInWriter = checkSections([write(0, 0, 50, 100), read(1, 40, 60, 140)], { r: 1 });
    expect(readerInWriter.overlapsBug).toBe(1);
  });

  test("two writers overlapping are a bug and lose an update; readers write nothing", () => {
    const report = checkSections(
      [write(0, 0, 50, 100), write(1, 40, 60, 140), read(2, 70, 80, 170)],
      { r: 1 },
    );
    expect(report.overlapsBug).toBe(1);
    expect(report.acceptedWrites).toBe(2);
    expect(report.lostUpdates).toBe(1);
  });

  test("touching intervals do not overlap: a writer entering at a reader's exit or deadline", () => {
    const atExit = checkSections([read(0, 0, 50, 100), write(1, 50, 60, 150)], { r: 1 });
    expect(atExit.overlapsBug).toBe(0);
    expect(atExit.overlapsAfterValidity).toBe(0);
    const atDeadline = checkSections([read(0, 0, 80, 50), write(1, 50, 60, 150)], { r: 1 });
    expect(atDeadline.overlapsBug).toBe(0);
    expect(atDeadline.overlapsAfterValidity).toBe(1);
  });

  test("equal entries and equal ends of a reader and a writer overlap", () => {
    const report = checkSections([write(0, 10, 50, 100), read(1, 10, 50, 100)], { r: 1 });
    expect(report.overlapsBug).toBe(1);
    // Ending together and entering where both ended: no overlap.
    const after = checkSections(
      [read(0, 0, 50, 100), read(1, 10, 50, 100), write(2, 50, 70, 150)],
      { r: 1 },
    );
    expect(after.overlapsBug).toBe(0);
    expect(after.readOverlaps).toBe(1);
  });

  test("a writer after an overrunning reader's deadline is an after-validity overlap", () => {
    const report = checkSections([read(0, 0, 150, 100), write(1, 120, 130, 220)], { r: 1 });
    expect(report.overlapsBug).toBe(0);
    expect(report.overlapsAfterValidity).toBe(1);
  });

  test("a resource's sections cannot mix permits and read/write holds", () => {
    expect(() =>
      checkSections(
        [read(0, 0, 10, 100), section(1, 20, 30, 120, { permits: 1 })],
        {},
        {
          limits: { r: 2 },
        },
      ),
    ).toThrow(/both/);
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
