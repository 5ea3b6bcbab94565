import { delay, monotonicNow } from "./clock";
import type { FaultCluster } from "./cluster";
import type { Rng } from "./prng";
import type { WorkerPool } from "./workers";

/** Every fault the nemesis can inject. */
export const FAULT_KINDS = [
  "node-pause",
  "crash-aof",
  "crash-delayed",
  "crash-volatile",
  "latency",
  "partition",
  "client-pause",
  "debug-sleep",
  "compound",
  "worker-freeze",
  "clock-jump",
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each fault does, for the summary. */
export const FAULT_DESCRIPTIONS: Record<FaultKind, string> = {
  "node-pause": "SIGSTOP one node for 200–1200 ms, then SIGCONT",
  "crash-aof": "SIGKILL a node with appendfsync always, restart at once",
  "crash-delayed": "SIGKILL a node without AOF, restart after TTL + 200 ms",
  "crash-volatile": "SIGKILL a node without AOF, restart at once (known-unsafe, planted)",
  latency: "proxy delay 20–120 ms each way on 1–2 nodes for 0.5–1.2 s",
  partition: "proxy blackhole or reset on 1–2 nodes for 0.4–1.2 s",
  "client-pause": "CLIENT PAUSE 200–600 ms ALL on one node",
  "debug-sleep": "DEBUG SLEEP 0.2–0.6 s on one node",
  compound: "cut 2 nodes off, crash and restart a third, heal",
  "worker-freeze": "SIGSTOP the worker holding a lock for TTL + 300 ms",
  "clock-jump": "shorten every lock key's PTTL by 0.3–0.9 TTL on one node",
};

/** One injected fault. Times are `monotonicNow()` ms. */
export interface FaultEvent {
  readonly kind: FaultKind;
  readonly start: number;
  /** When the fault was healed (the same as `start` for instant faults). */
  readonly healedAt: number;
  readonly detail: string;
  /** Faults after which availability must come back within two TTLs. */
  readonly recoveryCheck: boolean;
}

export interface NemesisOptions {
  /** Relative weights of the faults to draw. */
  readonly weights: Partial<Record<FaultKind, number>>;
  readonly ttl: number;
  /** The lock keys, for the emulated clock jump. */
  readonly lockKeys: readonly string[];
  /** Pause between a heal and the next fault, in ms. Default [100, 400]. */
  readonly gap?: readonly [number, number];
  /**
   * Compound fault: how the third node comes back. `auto` restarts a node with AOF at once and
   * a node without AOF after TTL + 200 ms; `volatile-immediate` restarts it at once without
   * data (the planted bug).
   */
  readonly compoundRestart?: "auto" | "volatile-immediate";
  /** Compound fault: cut with `reset` only (no late delivery), never `blackhole`. */
  readonly compoundResetOnly?: boolean;
  /** Compound fault: crash the third node only once a holder has entered a long section. */
  readonly compoundWaitsForHolder?: boolean;
  /** Pause after a fault with a recovery check, in ms. Default 2 × TTL. */
  readonly recoveryPauseMs?: number;
}

/**
 * Draws faults from a seeded PRNG and injects them one at a time, healing each before the next.
 *
 * The emulated clock jump is only drawn when no fault touching two or more nodes has healed
 * within the last TTL + 200 ms: after single-node faults every holder has its key on at least
 * four of five nodes, so one node losing it early cannot hand a majority to anyone else. A jump
 * right after a two-node fault can (the known limitation of Redlock, scenario S8), so the
 * randomized runs avoid it and the deterministic scenario shows it.
 */
export class Nemesis {
  readonly events: FaultEvent[] = [];
  private lastMultiNodeHeal = Number.NEGATIVE_INFINITY;
  private bag: FaultKind[] = [];
  private stopped = false;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly pool: WorkerPool | undefined,
    private readonly rng: Rng,
    private readonly options: NemesisOptions,
  ) {}

  /** Inject faults until `end` (monotonic ms), then return with everything healed. */
  async runUntil(end: number): Promise<void> {
    const [gapMin, gapMax] = this.options.gap ?? [100, 400];
    while (!this.stopped && monotonicNow() < end) {
      const kind = this.draw();
      if (!kind) break;
      const event = await this.inject(kind, end);
      if (event) this.events.push(event);
      const pause = event?.recoveryCheck
        ? (this.options.recoveryPauseMs ?? 2 * this.options.ttl)
        : this.rng.int(gapMin, gapMax);
      await delay(Math.min(pause, Math.max(0, end - monotonicNow())));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Injected faults by kind. */
  counts(): Partial<Record<FaultKind, number>> {
    const out: Partial<Record<FaultKind, number>> = {};
    for (const event of this.events) out[event.kind] = (out[event.kind] ?? 0) + 1;
    return out;
  }

  /**
   * The next fault: drawn from a shuffled bag that holds each available kind as many times as
   * its weight, refilled when empty, so a run goes through every kind before repeating one.
   */
  private draw(): FaultKind | undefined {
    const available = this.available();
    if (available.length === 0) return undefined;
    if (!this.bag.some((kind) => available.includes(kind))) {
      const weights = this.options.weights;
      this.bag.push(
        ...this.rng.shuffle(
          available.flatMap((kind) =>
            Array<FaultKind>(Math.max(1, Math.round(weights[kind] ?? 0))).fill(kind),
          ),
        ),
      );
    }
    const at = this.bag.findIndex((kind) => available.includes(kind));
    return this.bag.splice(at, 1)[0];
  }

  /** Kinds with a weight that the cluster, the workers and the clock-jump cooldown allow now. */
  private available(): FaultKind[] {
    const cluster = this.cluster;
    return FAULT_KINDS.filter((kind) => {
      if (!this.options.weights[kind]) return false;
      if (kind === "crash-aof") return cluster.aof.some(Boolean);
      if (kind === "crash-delayed" || kind === "crash-volatile") return !cluster.aof.every(Boolean);
      if (kind === "worker-freeze") return this.pool !== undefined;
      if (kind === "clock-jump") {
        return monotonicNow() - this.lastMultiNodeHeal >= this.options.ttl + 200;
      }
      return true;
    });
  }

  private nodes(): number[] {
    return this.cluster.nodes.map((_, i) => i);
  }

  private async inject(kind: FaultKind, end: number): Promise<FaultEvent | undefined> {
    const { cluster, rng } = this;
    const ttl = this.options.ttl;
    const start = monotonicNow();
    const done = (detail: string, recoveryCheck = false, multiNode = false): FaultEvent => {
      const healedAt = monotonicNow();
      if (multiNode) this.lastMultiNodeHeal = healedAt;
      return { kind, start, healedAt, detail, recoveryCheck };
    };
    switch (kind) {
      case "node-pause": {
        const i = rng.pick(this.nodes());
        const ms = rng.int(200, 1200);
        const node = cluster.nodes[i]!;
        node.pause();
        try {
          await delay(ms);
        } finally {
          node.resume();
        }
        return done(`node-${i} stopped ${ms} ms`);
      }
      case "crash-aof": {
        const i = rng.pick(this.nodes().filter((n) => cluster.aof[n]));
        await cluster.nodes[i]!.restart();
        return done(`node-${i} killed, restarted from its AOF`);
      }
      case "crash-delayed": {
        const i = rng.pick(this.nodes().filter((n) => !cluster.aof[n]));
        await cluster.nodes[i]!.restart({ delayMs: ttl + 200 });
        return done(`node-${i} killed, down ${ttl + 200} ms, restarted empty`, true);
      }
      case "crash-volatile": {
        const i = rng.pick(this.nodes().filter((n) => !cluster.aof[n]));
        await cluster.nodes[i]!.restart();
        return done(`node-${i} killed, restarted empty at once`);
      }
      case "latency": {
        const targets = rng.sample(this.nodes(), rng.chance(0.3) ? 2 : 1);
        const ms = rng.int(20, 120);
        const hold = rng.int(500, 1200);
        for (const i of targets) cluster.proxies[i]!.delay(ms);
        try {
          await delay(hold);
        } finally {
          for (const i of targets) cluster.proxies[i]!.pass();
        }
        const names = targets.map((i) => `node-${i}`).join("+");
        return done(`${names} +${ms} ms each way for ${hold} ms`, false, targets.length > 1);
      }
      case "partition": {
        const targets = rng.sample(this.nodes(), rng.chance(0.35) ? 2 : 1);
        const mode = rng.chance(0.5) ? "blackhole" : "reset";
        const hold = rng.int(400, 1200);
        for (const i of targets) cluster.proxies[i]!.setMode(mode);
        try {
          await delay(hold);
        } finally {
          for (const i of targets) cluster.proxies[i]!.pass();
        }
        const names = targets.map((i) => `node-${i}`).join("+");
        return done(`${names} ${mode} for ${hold} ms`, false, targets.length > 1);
      }
      case "client-pause": {
        const i = rng.pick(this.nodes());
        const ms = rng.int(200, 600);
        await cluster.call(i, 2000, "CLIENT", "PAUSE", ms, "ALL");
        await delay(ms);
        return done(`node-${i} CLIENT PAUSE ${ms} ALL`);
      }
      case "debug-sleep": {
        const i = rng.pick(this.nodes());
        const seconds = rng.int(20, 60) / 100;
        await cluster.call(i, seconds * 1000 + 3000, "DEBUG", "SLEEP", seconds);
        return done(`node-${i} DEBUG SLEEP ${seconds}`);
      }
      case "compound":
        return this.compound(end, done);
      case "worker-freeze": {
        const pool = this.pool!;
        const event = await pool.nextEnter(Math.min(2 * ttl, Math.max(0, end - start)));
        if (!event) return undefined;
        pool.freeze(event.worker);
        try {
          await delay(ttl + 300);
        } finally {
          pool.thaw(event.worker);
        }
        return done(`worker ${event.worker} stopped ${ttl + 300} ms inside its section`, true);
      }
      case "clock-jump": {
        const i = rng.pick(this.nodes());
        const delta = rng.int(Math.round(0.3 * ttl), Math.round(0.9 * ttl));
        const changed = await cluster.clockJump(i, this.options.lockKeys, delta);
        return done(`node-${i} jumped ${delta} ms (${changed} lock keys)`);
      }
    }
  }

  private async compound(
    end: number,
    done: (detail: string, recoveryCheck?: boolean, multiNode?: boolean) => FaultEvent,
  ): Promise<FaultEvent | undefined> {
    const { cluster, rng, options } = this;
    const ttl = options.ttl;
    const [a, b, c] = rng.sample(this.nodes(), 3) as [number, number, number];
    const mode = options.compoundResetOnly || rng.chance(0.5) ? "reset" : "blackhole";
    const volatileImmediate = options.compoundRestart === "volatile-immediate";
    let detail = `node-${a}+node-${b} ${mode}`;
    cluster.proxies[a]!.setMode(mode);
    cluster.proxies[b]!.setMode(mode);
    try {
      await delay(rng.int(200, 500));
      if (options.compoundWaitsForHolder && this.pool) {
        const waitMs = Math.min(3 * ttl, Math.max(0, end - monotonicNow()));
        const entered = await this.pool.nextEnter(waitMs, (e) => e.workMs >= 0.4 * ttl);
        if (!entered)
          return done(`${detail}; no long section entered, nothing crashed`, true, true);
        detail += `; worker ${entered.worker} entered`;
      }
      const node = cluster.nodes[c]!;
      if (cluster.aof[c]) {
        await node.restart();
        detail += `; node-${c} killed, restarted from its AOF`;
      } else if (volatileImmediate) {
        await node.restart();
        detail += `; node-${c} killed, restarted empty at once`;
      } else {
        await node.restart({ delayMs: ttl + 200 });
        detail += `; node-${c} killed, down ${ttl + 200} ms`;
      }
    } finally {
      cluster.proxies[a]!.pass();
      cluster.proxies[b]!.pass();
    }
    return done(`${detail}; healed`, true, true);
  }
}
