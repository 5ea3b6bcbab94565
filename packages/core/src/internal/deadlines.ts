import type { Clock } from "../clock";
import type { RunOptions } from "../script-runner";
import { setTimer, type Timer } from "./timers";

const ACTIVE = 0;
const RELEASED = 1;
const EXPIRED = 2;

/** Deadlines with the same timeout, in the order they were set (so also in order of expiry). */
interface Queue {
  head: Deadline | undefined;
  tail: Deadline | undefined;
}

/**
 * The deadline of one in-flight request, passed to its runners as their `RunOptions`. The abort
 * signal is made only when a runner reads it: most runners never need one, and an
 * `AbortController` per request is measurable garbage on the hot path.
 */
export class Deadline implements RunOptions {
  /** @internal */ next: Deadline | undefined = undefined;
  /** @internal */ prev: Deadline | undefined = undefined;
  /** @internal */ status = ACTIVE;
  #controller: AbortController | undefined;
  readonly #owner: Deadlines;
  readonly #queue: Queue;
  #onExpire: (() => void) | undefined;

  /** Monotonic time at which it expires. */
  readonly at: number;

  constructor(owner: Deadlines, queue: Queue, at: number, onExpire: () => void) {
    this.#owner = owner;
    this.#queue = queue;
    this.at = at;
    this.#onExpire = onExpire;
  }

  /** Core stops waiting at the deadline by itself (see `RunOptions.enforced`). */
  get enforced(): true {
    return true;
  }

  /** Aborted once the deadline passes; made on first read, already aborted if it has. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.status === EXPIRED) this.#controller.abort(deadlineError());
    }
    return this.#controller.signal;
  }

  /** The request no longer needs the deadline: it will not expire. Safe to call more than once. */
  release(): void {
    if (this.status !== ACTIVE) return;
    this.status = RELEASED;
    // A runner may hold on to its RunOptions until its request settles: let go of the request.
    this.#onExpire = undefined;
    this.#unlink();
    this.#owner.settled();
  }

  /** @internal Called by {@link Deadlines} when the time has come. */
  expire(): void {
    if (this.status !== ACTIVE) return;
    this.status = EXPIRED;
    this.#unlink();
    this.#owner.settled();
    this.#controller?.abort(deadlineError());
    const onExpire = this.#onExpire;
    this.#onExpire = undefined;
    onExpire?.();
  }

  #unlink(): void {
    const queue = this.#queue;
    if (this.prev) this.prev.next = this.next;
    else queue.head = this.next;
    if (this.next) this.next.prev = this.prev;
    else queue.tail = this.prev;
    this.next = undefined;
    this.prev = undefined;
  }
}

function deadlineError(): Error {
  return new Error("deadline passed");
}

/**
 * Deadlines for in-flight requests, on one platform timer. Every attempt needs a "give up on
 * silent nodes" deadline; under load thousands are pending at once, and a platform timer each
 * would cost memory and GC. Deadlines with the same timeout queue in the order they were set,
 * which is also the order they expire in, so the earliest of each queue is its head, and one
 * timer armed for the earliest head serves all. A deadline released before its time costs two
 * pointer updates; nothing stays scheduled once no request needs it.
 */
export class Deadlines {
  readonly #clock: Clock;
  readonly #queues = new Map<number, Queue>();
  #timer: Timer | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  /** Requests still waiting on a deadline; while there are any, the timer keeps the process alive. */
  #active = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A deadline `ms` from now; `onExpire` is called then unless it was released first. */
  deadline(ms: number, onExpire: () => void): Deadline {
    let queue = this.#queues.get(ms);
    if (!queue) {
      queue = { head: undefined, tail: undefined };
      this.#queues.set(ms, queue);
    }
    const at = this.#clock.now() + ms;
    const deadline = new Deadline(this, queue, at, onExpire);
    if (queue.tail) {
      queue.tail.next = deadline;
      deadline.prev = queue.tail;
      queue.tail = deadline;
    } else {
      queue.head = deadline;
      queue.tail = deadline;
      if (at < this.#armedFor) this.#arm(at);
    }
    if (this.#active++ === 0) this.#timer?.ref(true);
    return deadline;
  }

  /** @internal One deadline was released or expired. */
  settled(): void {
    if (--this.#active === 0) this.#timer?.ref(false);
  }

  /** Stop the timer when no deadline is pending (it would only fire to find nothing to do). */
  settle(): void {
    if (this.#active > 0) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.#queues.clear();
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#armedFor = at;
    // At least 1 ms: a platform timer may fire a fraction of a millisecond early.
    this.#timer = setTimer(this.#clock, Math.max(1, at - this.#clock.now()), () => this.#run());
    // While a request waits, the timer keeps the process alive (a runner without sockets of its
    // own would otherwise let it exit mid-acquire); once none waits, it must not.
    if (this.#active === 0) this.#timer.ref(false);
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [ms, queue] of this.#queues) {
      while (queue.head && queue.head.at <= now) queue.head.expire();
      if (queue.head) next = Math.min(next, queue.head.at);
      else this.#queues.delete(ms);
    }
    if (next !== Number.POSITIVE_INFINITY && next < this.#armedFor) this.#arm(next);
  }
}
