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

/** A semaphore entry that took the permits held by valid holders over the limit. */
export interface LimitViolation {
  readonly resource: string;
  readonly limit: number;
  /** The section whose entry went over the limit. */
  readonly section: SectionRecord;
  /** The other holders that were within their validity at that entry. */
  readonly holders: readonly SectionRecord[];
  /** Permits held by valid holders right after the entry, the section's own included. */
  readonly permits: number;
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
  /**
   * Violations among holders within their validity: a library bug. For locks, pairs of
   * sections; for read-write locks, pairs of which at least one section writes; for semaphores,
   * entries that took the permits of valid holders over the limit.
   */
  readonly overlapsBug: number;
  /**
   * The same counted over whole sections but not over valid ones: it began after a holder's
   * deadline (the holder overran).
   */
  readonly overlapsAfterValidity: number;
  /** Of those, overlaps whose overrunning holder had its oracle access rejected by fencing. */
  readonly overlapsNeutralized: number;
  /** The first violating pairs (locks, read-write locks). */
  readonly bugExamples: readonly Overlap[];
  /** The first semaphore entries over the limit. */
  readonly limitExamples: readonly LimitViolation[];
  /** Per semaphore resource, the most permits valid holders held at once. */
  readonly peakPermits: Readonly<Record<string, number>>;
  /** Read sections of valid holders that overlapped (allowed: shows readers ran side by side). */
  readonly readOverlaps: number;
  /** Read-write lock sections that wrote. */
  readonly writeSections: number;
  readonly overran: number;
  /** Overran sections where the library still reported validity (remainingTime > 0) at exit. */
  readonly overranButLibraryValid: number;
  /**
   * Sections that write the counter (locks, read-write lock writers) and whose writes the
   * oracle accepted.
   */
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

/** How the sections of a resource are checked. */
export interface CheckOptions {
  /**
   * The limit of each semaphore resource: the one every correct client passes (a planted
   * worker may pass another). A resource whose sections carry `permits` must have one.
   */
  readonly limits?: Readonly<Record<string, number>>;
}

const EXAMPLES = 5;

/** Does the section read and write the counter (a lock or a read-write lock's writer)? */
export function writesCounter(section: SectionRecord): boolean {
  return section.permits === undefined && section.hold !== "read";
}

type ResourceKind = "lock" | "rwlock" | "semaphore";

/** A resource's kind, from its sections' fields and the semaphore limits. */
function kindOf(
  resource: string,
  list: readonly SectionRecord[],
  limits: Readonly<Record<string, number>>,
): ResourceKind {
  const semaphore = limits[resource] !== undefined || list.some((s) => s.permits !== undefined);
  const rwlock = list.some((s) => s.hold !== undefined);
  if (semaphore && rwlock) {
    throw new Error(`${resource}: sections with both permits and read/write holds`);
  }
  if (semaphore && limits[resource] === undefined) {
    throw new Error(`${resource}: sections with permits, but no limit in the check options`);
  }
  return semaphore ? "semaphore" : rwlock ? "rwlock" : "lock";
}

/**
 * Check a run's sections against the oracle counters (`counters[resource]` is the final value).
 *
 * Every section has a valid part, from its entry to its exit or its deadline if earlier, as the
 * library reported it; intervals are half-open, so a section entering when another exits (or
 * when its deadline passes) does not overlap it. Sections of one resource are swept in order of
 * entry, with the sections still open at each entry:
 *
 * - locks: a section `b` that enters before an earlier section `a` has exited overlaps it. The
 *   overlap is a library bug when `b` entered before `a`'s deadline (both held a valid lock at
 *   once) and an "after validity" overlap otherwise: `a` overran its deadline, which only
 *   fencing can make harmless.
 * - read-write locks: the same for every pair of which one section writes (a section without a
 *   `hold` counts as a writer); two readers may overlap.
 * - semaphores: an entry is a library bug when the permits of the valid sections open at that
 *   instant, the entering one's included, exceed the limit (`options.limits`); it is an "after
 *   validity" excess when only the permits of all open sections, overrunning ones included, do.
 *   The most permits held at once is reached at some entry, so checking entries is enough.
 *
 * A worker's own sections follow each other and are never compared.
 */
export function checkSections(
  records: readonly SectionRecord[],
  counters: Readonly<Record<string, number>>,
  options: CheckOptions = {},
): CheckReport {
  const limits = options.limits ?? {};
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
  const limitExamples: LimitViolation[] = [];
  const peakPermits: Record<string, number> = {};
  let readOverlaps = 0;
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
    const kind = kindOf(resource, list, limits);
    const limit = limits[resource] ?? 1;
    if (kind === "semaphore") peakPermits[resource] = 0;

    // Sweep: `open` holds earlier sections that may still be open at the next entry.
    let open: SectionRecord[] = [];
    for (const section of list) {
      open = open.filter((earlier) => earlier.exit > section.enter);
      if (kind === "semaphore") {
        const others = open.filter((earlier) => earlier.worker !== section.worker);
        const valid = others.filter((earlier) => section.enter < earlier.deadline);
        const own = section.permits ?? 1;
        const permitsOf = (sections: readonly SectionRecord[]) =>
          sections.reduce((sum, s) => sum + (s.permits ?? 1), 0);
        const validPermits = permitsOf(valid) + (section.enter < section.deadline ? own : 0);
        peakPermits[resource] = Math.max(peakPermits[resource] ?? 0, validPermits);
        if (validPermits > limit && section.enter < section.deadline) {
          overlapsBug++;
          if (limitExamples.length < EXAMPLES) {
            limitExamples.push({ resource, limit, section, holders: valid, permits: validPermits });
          }
        } else if (permitsOf(others) + own > limit) {
          overlapsAfterValidity++;
        }
        open.push(section);
        continue;
      }
      for (const earlier of open) {
        if (earlier.worker === section.worker) continue;
        if (kind === "rwlock" && earlier.hold === "read" && section.hold === "read") {
          if (section.enter < earlier.deadline) readOverlaps++;
          continue;
        }
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

    const accepted = list.filter((s) => s.access === "ok" && writesCounter(s)).length;
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
    limitExamples,
    peakPermits,
    readOverlaps,
    writeSections: records.filter((r) => r.hold === "write").length,
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

/** A one-line description of a semaphore entry over the limit, for failure messages. */
export function describeLimitViolation(v: LimitViolation): string {
  const s = v.section;
  const holders = v.holders
    .map((h) => `${h.worker}#${h.seq}×${h.permits ?? 1} (deadline ${h.deadline.toFixed(1)})`)
    .join(", ");
  return (
    `${v.resource}: worker ${s.worker}#${s.seq} took ${s.permits ?? 1} at ${s.enter.toFixed(1)} ` +
    `while ${holders} were valid: ${v.permits} permits of ${v.limit}`
  );
}

/** A one-line description of an overlap, for failure messages. */
export function describeOverlap(o: Overlap): string {
  const f = o.first;
  const s = o.second;
  const hold = (r: SectionRecord) => (r.hold ? ` (${r.hold})` : "");
  return (
    `${o.resource}: worker ${f.worker}#${f.seq}${hold(f)} [${f.enter.toFixed(1)}, ${f.exit.toFixed(1)}] ` +
    `deadline ${f.deadline.toFixed(1)} token ${f.token ?? "-"} / worker ${s.worker}#${s.seq}${hold(s)} ` +
    `entered ${s.enter.toFixed(1)} token ${s.token ?? "-"} (${o.overlapMs.toFixed(1)} ms inside validity)`
  );
}
