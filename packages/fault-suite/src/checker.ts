import type { SectionRecord } from "./types";

/** Two sections of one resource that were open at the same time. */
export interface Overlap {
  readonly resource: string;
  /** The section that entered first. */
  readonly first: SectionRecord;
  /** The section that entered while `first` was still open. */
  readonly second: SectionRecord;
  /** ms between `second.enter` and the end of `first` (its exit, or its deadline if earlier). */
  readonly overlapMs: number;
}

/** A pair that breaks the fencing promise. */
export interface TokenViolation {
  readonly resource: string;
  /** Finished acquiring before `later` began, with a token at least as large. */
  readonly earlier: SectionRecord;
  readonly later: SectionRecord;
}

export interface CheckReport {
  readonly sections: number;
  readonly perResource: Record<string, number>;
  /** Overlaps where the first holder was still within its validity: a library bug. */
  readonly overlapsBug: number;
  /** Overlaps that began after the first holder's deadline (it overran). */
  readonly overlapsAfterValidity: number;
  /** Of those, overlaps whose overrunning holder had its oracle access rejected by fencing. */
  readonly overlapsNeutralized: number;
  readonly bugExamples: readonly Overlap[];
  readonly overran: number;
  /** Overran sections where the library still reported validity (remainingTime > 0) at exit. */
  readonly overranButLibraryValid: number;
  /** Sections whose writes the oracle accepted. */
  readonly acceptedWrites: number;
  readonly rejectedReads: number;
  readonly rejectedWrites: number;
  /** Final counter values, summed over resources. */
  readonly counterTotal: number;
  /** Accepted writes minus counter, summed over resources; must be 0 without overlaps. */
  readonly lostUpdates: number;
  readonly fenced: number;
  /** Pairs (a, b) where b's acquire began after a's finished: b's token must be larger. */
  readonly tokenPairsChecked: number;
  readonly tokenViolations: number;
  readonly tokenExamples: readonly TokenViolation[];
  /** Consecutive sections (by acquisition completion) whose tokens did not increase. */
  readonly tokenOrderInversions: number;
  /** First and last section entry, in `monotonicNow()` ms. */
  readonly span: readonly [number, number];
}

const EXAMPLES = 5;

/**
 * Check a run's sections against the oracle counters (`counters[resource]` is the final value).
 *
 * Sections of one resource are sorted by entry; a section `b` that enters before an earlier
 * section `a` has exited overlaps it. The overlap is a library bug when `b` entered before
 * `a`'s deadline (both held a valid lock at once) and an "after validity" overlap otherwise:
 * `a` overran its deadline, which only fencing can make harmless.
 */
export function checkSections(
  records: readonly SectionRecord[],
  counters: Readonly<Record<string, number>>,
): CheckReport {
  const byResource = new Map<string, SectionRecord[]>();
  for (const record of records) {
    const list = byResource.get(record.resource) ?? [];
    list.push(record);
    byResource.set(record.resource, list);
  }
  const perResource: Record<string, number> = {};
  let overlapsBug = 0;
  let overlapsAfterValidity = 0;
  let overlapsNeutralized = 0;
  const bugExamples: Overlap[] = [];
  let acceptedWrites = 0;
  let counterTotal = 0;
  let lostUpdates = 0;
  let tokenPairsChecked = 0;
  let tokenViolations = 0;
  let tokenOrderInversions = 0;
  const tokenExamples: TokenViolation[] = [];

  const resources = new Set([...byResource.keys(), ...Object.keys(counters)]);
  for (const resource of resources) {
    const list = [...(byResource.get(resource) ?? [])].sort((a, b) => a.enter - b.enter);
    perResource[resource] = list.length;

    // Sweep: `open` holds earlier sections that may still be open at the next entry.
    let open: SectionRecord[] = [];
    for (const section of list) {
      open = open.filter((earlier) => earlier.exit > section.enter);
      for (const earlier of open) {
        if (earlier.worker === section.worker) continue;
        if (section.enter < earlier.deadline) {
          overlapsBug++;
          if (bugExamples.length < EXAMPLES) {
            const end = Math.min(earlier.exit, earlier.deadline);
            bugExamples.push({
              resource,
              first: earlier,
              second: section,
              overlapMs: end - section.enter,
            });
          }
        } else {
          overlapsAfterValidity++;
          if (earlier.access !== "ok") overlapsNeutralized++;
        }
      }
      open.push(section);
    }

    const accepted = list.filter((s) => s.access === "ok").length;
    const counter = counters[resource] ?? 0;
    acceptedWrites += accepted;
    counterTotal += counter;
    lostUpdates += accepted - counter;

    const tokened = list.filter((s) => s.token !== undefined);
    if (tokened.length > 0) {
      const byEnd = [...tokened].sort((a, b) => a.acquireEnd - b.acquireEnd);
      const prefixMax: number[] = [];
      let max = Number.NEGATIVE_INFINITY;
      let holder: SectionRecord | undefined;
      const holders: SectionRecord[] = [];
      for (const s of byEnd) {
        if ((s.token as number) > max) {
          max = s.token as number;
          holder = s;
        }
        prefixMax.push(max);
        holders.push(holder as SectionRecord);
      }
      for (let i = 1; i < byEnd.length; i++) {
        if ((byEnd[i]!.token as number) <= (byEnd[i - 1]!.token as number)) tokenOrderInversions++;
      }
      for (const later of tokened) {
        // Last section that finished acquiring before `later` began.
        let lo = 0;
        let hi = byEnd.length - 1;
        let found = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (byEnd[mid]!.acquireEnd < later.acquireStart) {
            found = mid;
            lo = mid + 1;
          } else {
            hi = mid - 1;
          }
        }
        if (found < 0) continue;
        tokenPairsChecked += found + 1;
        if ((later.token as number) <= prefixMax[found]!) {
          tokenViolations++;
          if (tokenExamples.length < EXAMPLES) {
            tokenExamples.push({ resource, earlier: holders[found]!, later });
          }
        }
      }
    }
  }

  const enters = records.map((r) => r.enter);
  return {
    sections: records.length,
    perResource,
    overlapsBug,
    overlapsAfterValidity,
    overlapsNeutralized,
    bugExamples,
    overran: records.filter((r) => r.overran).length,
    overranButLibraryValid: records.filter((r) => r.overran && r.remainingAtExit > 0).length,
    acceptedWrites,
    rejectedReads: records.filter((r) => r.access === "rejected-read").length,
    rejectedWrites: records.filter((r) => r.access === "rejected-write").length,
    counterTotal,
    lostUpdates,
    fenced: records.filter((r) => r.token !== undefined).length,
    tokenPairsChecked,
    tokenViolations,
    tokenExamples,
    tokenOrderInversions,
    span: records.length ? [Math.min(...enters), Math.max(...enters)] : [0, 0],
  };
}

/** A one-line description of an overlap, for failure messages. */
export function describeOverlap(o: Overlap): string {
  const f = o.first;
  const s = o.second;
  return (
    `${o.resource}: worker ${f.worker}#${f.seq} [${f.enter.toFixed(1)}, ${f.exit.toFixed(1)}] ` +
    `deadline ${f.deadline.toFixed(1)} token ${f.token ?? "-"} / worker ${s.worker}#${s.seq} ` +
    `entered ${s.enter.toFixed(1)} token ${s.token ?? "-"} (${o.overlapMs.toFixed(1)} ms inside validity)`
  );
}
