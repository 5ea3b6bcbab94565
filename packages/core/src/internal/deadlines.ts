import type { Clock } from "../clock";

interface Entry {
  readonly at: number;
  readonly fire: () => void;
  done: boolean;
}

/** A scheduled callback; cancel it once it is no longer needed. */
export interface Deadline {
  cancel(): void;
}

/**
 * Many deadlines on one timer. Every in-flight attempt needs a "give up on silent nodes" deadline;
 * under load thousands are pending at once, and a platform timer each costs memory and GC. Here
 * they wait in a list sorted by time (new ones almost always go last, since most share one
 * timeout) behind a single timer armed for the earliest, and the timer is cleared as soon as no
 * live deadline is left.
 */
export class Deadlines {
  readonly #clock: Clock;
  #entries: Entry[] = [];
  #live = 0;
  #timer: unknown;
  #armedFor = Number.POSITIVE_INFINITY;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Call `fire` in `ms` milliseconds unless cancelled first. */
  schedule(ms: number, fire: () => void): Deadline {
    const entry: Entry = { at: this.#clock.now() + ms, fire, done: false };
    let i = this.#entries.length;
    while (i > 0 && (this.#entries[i - 1] as Entry).at > entry.at) i--;
    this.#entries.splice(i, 0, entry);
    this.#live++;
    if (entry.at < this.#armedFor) this.#arm(entry.at);
    return {
      cancel: () => {
        if (entry.done) return;
        entry.done = true;
        if (--this.#live === 0) this.#disarm();
      },
    };
  }

  #arm(at: number): void {
    this.#clock.clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = this.#clock.setTimeout(() => this.#run(), Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.#entries = [];
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let due = 0;
    while (due < this.#entries.length && (this.#entries[due] as Entry).at <= now) due++;
    const fired = this.#entries.splice(0, due);
    for (const entry of fired) {
      if (entry.done) continue;
      entry.done = true;
      this.#live--;
      entry.fire();
    }
    while (this.#entries.length > 0 && (this.#entries[0] as Entry).done) this.#entries.shift();
    const next = this.#entries[0];
    if (next && this.#live > 0) this.#arm(next.at);
    else if (this.#live === 0) this.#entries = [];
  }
}
