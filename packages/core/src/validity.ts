/**
 * Pure validity math, no I/O.
 *
 * A lock is granted at once on several nodes whose clocks may run at slightly different rates,
 * and Redis expires keys with 1 ms precision. So the holder subtracts a drift allowance from the
 * time it believes it has: `driftFactor × duration` for clock-rate error plus 2 ms for expiry
 * precision. The time spent gathering the quorum is subtracted too, measured from the moment
 * *before* the first request of the successful attempt: every node set its key after that
 * moment, so every key lives at least until `start + duration` on that node's clock.
 */

/** Clock-drift allowance in ms for a lock of `duration` ms: `round(driftFactor·duration) + 2`. */
export function drift(duration: number, driftFactor: number): number {
  return Math.round(driftFactor * duration) + 2;
}

/**
 * Milliseconds of validity left for a lock of `duration` whose attempt started `elapsed` ms
 * ago: `duration − elapsed − drift`. A lock with a result ≤ 0 must not be used.
 */
export function validity(duration: number, elapsed: number, driftFactor: number): number {
  return duration - elapsed - drift(duration, driftFactor);
}

/** Votes needed out of `membership` nodes: a strict majority. */
export function quorum(membership: number): number {
  return Math.floor(membership / 2) + 1;
}
