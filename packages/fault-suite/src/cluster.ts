import {
  type FaultProxy,
  type RedisNode,
  type RespValue,
  respCall,
  startFaultProxy,
  startRedis,
  startUpstashBridge,
  type UpstashBridge,
} from "@redlock/testbed";
import type { Driver, NodeEndpoint } from "./types";

export interface ClusterOptions {
  /** Number of lock nodes. Default 5. */
  readonly nodes?: number;
  /** Nodes that run with `appendonly yes` and `appendfsync always`; the others keep no data. */
  readonly aof?: readonly number[] | "all" | "none";
  /** Start one Upstash REST bridge per node, in front of the node's fault proxy. */
  readonly upstash?: boolean;
}

/** Deletes a lock key or shortens its TTL by ARGV[1] ms: a forward clock jump on one node. */
const CLOCK_JUMP = `local delta = tonumber(ARGV[1])
local changed = 0
for _, key in ipairs(KEYS) do
  local ttl = redis.call("PTTL", key)
  if ttl > 0 then
    if ttl <= delta then redis.call("DEL", key) else redis.call("PEXPIRE", key, ttl - delta) end
    changed = changed + 1
  end
end
return changed
`;

/** The keys among KEYS that exist without an expiry (PTTL -1). */
const NO_TTL = `local found = {}
for _, key in ipairs(KEYS) do
  if redis.call("PTTL", key) == -1 then table.insert(found, key) end
end
return found
`;

/**
 * The lock nodes of a fault run: spawned redis-server processes (started with
 * `--enable-debug-command local`), one fault proxy in front of each, optionally an Upstash
 * bridge in front of each proxy, and the oracle node that is never faulted.
 */
export class FaultCluster {
  private constructor(
    readonly nodes: RedisNode[],
    readonly proxies: FaultProxy[],
    readonly bridges: UpstashBridge[],
    readonly oracle: RedisNode,
    /** Which nodes persist every write before acknowledging it. */
    readonly aof: boolean[],
  ) {}

  static async start(options: ClusterOptions = {}): Promise<FaultCluster> {
    const count = options.nodes ?? 5;
    const aofOption = options.aof ?? "none";
    const aof = Array.from({ length: count }, (_, i) =>
      aofOption === "all" ? true : aofOption === "none" ? false : aofOption.includes(i),
    );
    const nodes = await Promise.all(
      aof.map((persistent) =>
        startRedis({
          enableDebug: true,
          ...(persistent ? { appendonly: true, appendfsync: "always" as const } : {}),
        }),
      ),
    );
    const oracle = await startRedis();
    const proxies = await Promise.all(nodes.map((node) => startFaultProxy({ port: node.port })));
    const bridges = options.upstash
      ? await Promise.all(
          proxies.map((proxy) =>
            startUpstashBridge({ redisUrl: proxy.url, commandTimeoutMs: 3000 }),
          ),
        )
      : [];
    return new FaultCluster(nodes, proxies, bridges, oracle, aof);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** How clients of `driver` reach the nodes: through the proxies, or through the bridges. */
  endpoints(driver: Driver): NodeEndpoint[] {
    if (driver === "upstash") {
      if (this.bridges.length === 0) throw new Error("cluster was started without bridges");
      return this.bridges.map((bridge) => ({ url: bridge.url, token: bridge.token }));
    }
    return this.proxies.map((proxy) => ({ url: proxy.url }));
  }

  get oracleUrl(): string {
    return this.oracle.url;
  }

  /** One command straight to node `i` (bypassing its proxy) on a fresh connection. */
  call(i: number, timeoutMs: number, ...args: (string | number)[]): Promise<RespValue> {
    const node = this.nodes[i]!;
    return respCall({ host: node.host, port: node.port, timeoutMs }, ...args);
  }

  /** Is node `i` running and not paused (so that a direct command can be answered)? */
  reachable(i: number): boolean {
    const node = this.nodes[i]!;
    return node.running && !node.paused;
  }

  /** FLUSHALL on every lock node and on the oracle. */
  async flush(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.call(i, 2000, "FLUSHALL")));
    await respCall({ host: this.oracle.host, port: this.oracle.port }, "FLUSHALL");
  }

  /** Final counter values on the oracle. */
  async counters(keys: Record<string, string>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [resource, key] of Object.entries(keys)) {
      const value = await respCall({ host: this.oracle.host, port: this.oracle.port }, "GET", key);
      out[resource] = Number(value ?? 0);
    }
    return out;
  }

  /** The value of `key` on every node; `undefined` where the node did not answer. */
  async values(key: string, timeoutMs = 300): Promise<(string | null | undefined)[]> {
    return Promise.all(
      this.nodes.map(async (_, i) => {
        if (!this.reachable(i)) return undefined;
        try {
          return (await this.call(i, timeoutMs, "GET", key)) as string | null;
        } catch {
          return undefined;
        }
      }),
    );
  }

  /** Emulate a forward clock jump of `deltaMs` on node `i` for the given lock keys. */
  async clockJump(i: number, keys: readonly string[], deltaMs: number): Promise<number> {
    const reply = await this.call(i, 2000, "EVAL", CLOCK_JUMP, keys.length, ...keys, deltaMs);
    return Number(reply);
  }

  /**
   * Lock keys that exist without an expiry on any reachable node. Nodes that do not answer
   * within `timeoutMs` (paused, down, CLIENT PAUSE) are skipped.
   */
  async keysWithoutTtl(keys: readonly string[], timeoutMs = 200): Promise<string[]> {
    const found = await Promise.all(
      this.nodes.map(async (_, i) => {
        if (!this.reachable(i)) return [];
        try {
          const reply = await this.call(i, timeoutMs, "EVAL", NO_TTL, keys.length, ...keys);
          return (reply as string[]).map((key) => `node-${i}:${key}`);
        } catch {
          return [];
        }
      }),
    );
    return found.flat();
  }

  /** Undo every fault: proxies back to pass, paused nodes resumed, dead nodes restarted. */
  async healAll(): Promise<void> {
    for (const proxy of this.proxies) proxy.pass();
    for (const bridge of this.bridges) bridge.clearFaults();
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.paused) node.resume();
        if (!node.running) await node.restart();
      }),
    );
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const bridge of this.bridges) await attempt(() => bridge.close());
    for (const proxy of this.proxies) await attempt(() => proxy.close());
    await Promise.all([...this.nodes, this.oracle].map((node) => attempt(() => node.stop())));
    if (errors.length > 0) throw new AggregateError(errors, "FaultCluster.close failed");
  }
}
