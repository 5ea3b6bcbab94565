import type { Clock } from "../clock";
import { setTimer, type Timer } from "./timers";

/** An abort signal that fires at a deadline, shared with requests due in the same millisecond. */
export interface SharedDeadline {
  readonly signal: AbortSignal;
  /** Call when the request no longer needs the deadline. */
  release(): void;
}

/** Listeners one shared signal may carry before Node warns about a leak (its default is 10). */
const LISTENER_BUDGET = 10;

interface Shared {
  readonly controller: AbortController;
  listeners: number;
}

interface Slice {
  readonly at: number;
  readonly shared: Shared[];
  users: number;
}

/**
 * Deadlines for in-flight requests, on one timer. Every attempt needs a "give up on silent nodes"
 * deadline and an abort signal for its runners; under load thousands are pending at once, and a
 * platform timer plus an AbortController each would cost memory and GC. Deadlines due in the same
 * millisecond share one AbortController, and the slices wait behind a single timer armed for the
 * earliest. Nothing stays scheduled once no request needs it (see {@link Deadlines.settle}).
 */
export class Deadlines {
  readonly #clock: Clock;
  readonly #slices = new Map<number, Slice>();
  /** Slice times in ascending order (new ones almost always go last). */
  #order: number[] = [];
  #timer: Timer | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  /** Requests still waiting on a deadline; while there are any, the timer keeps the process alive. */
  #active = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * A signal aborted `ms` from now (rounded up to the millisecond). `listeners` is how many
   * listeners the caller and its runners will add; a signal is shared only within Node's
   * default listener limit.
   */
  deadline(ms: number, listeners = 1): SharedDeadline {
    const at = Math.ceil(this.#clock.now() + ms);
    let slice = this.#slices.get(at);
    if (!slice) {
      slice = { at, shared: [], users: 0 };
      this.#slices.set(at, slice);
      let i = this.#order.length;
      while (i > 0 && (this.#order[i - 1] as number) > at) i--;
      this.#order.splice(i, 0, at);
      if (at < this.#armedFor) this.#arm(at);
    }
    const current = slice;
    let shared = current.shared[current.shared.length - 1];
    if (!shared || shared.listeners + listeners > LISTENER_BUDGET) {
      shared = { controller: new AbortController(), listeners: 0 };
      current.shared.push(shared);
    }
    shared.listeners += listeners;
    current.users++;
    if (this.#active++ === 0) this.#timer?.ref(true);
    let released = false;
    return {
      signal: shared.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        current.users--;
        if (--this.#active === 0) this.#timer?.ref(false);
      },
    };
  }

  /** Drop slices nobody uses any more and stop the timer when none is left. */
  settle(): void {
    for (const [at, slice] of this.#slices) if (slice.users === 0) this.#slices.delete(at);
    this.#order = this.#order.filter((at) => this.#slices.has(at));
    const next = this.#order[0];
    if (next === undefined) {
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#armedFor = Number.POSITIVE_INFINITY;
    } else if (next !== this.#armedFor) {
      this.#arm(next);
    }
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#armedFor = at;
    this.#timer = setTimer(this.#clock, at - this.#clock.now(), () => this.#run());
    // While a request waits, the timer keeps the process alive (a runner without sockets of its
    // own would otherwise let it exit mid-acquire); once none waits, it must not.
    if (this.#active === 0) this.#timer.ref(false);
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let due = 0;
    while (due < this.#order.length && (this.#order[due] as number) <= now) due++;
    for (const at of this.#order.splice(0, due)) {
      const slice = this.#slices.get(at);
      this.#slices.delete(at);
      if (slice && slice.users > 0) {
        for (const shared of slice.shared) shared.controller.abort(new Error("deadline passed"));
      }
    }
    const next = this.#order[0];
    if (next !== undefined) this.#arm(next);
  }
}
