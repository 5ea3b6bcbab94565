import { setTimeout as sleep } from "node:timers/promises";
import { getFreePort, isPortFree, LOOPBACK } from "./ports";
import { RedisNode, type StartRedisOptions } from "./redis-node";
import { type Closeable, trackResource, untrackResource } from "./registry";
import { respCall } from "./resp";

/** How {@link startCluster} starts the cluster. */
export interface StartClusterOptions extends Omit<StartRedisOptions, "port"> {
  /** Number of masters (no replicas). Default 3. */
  masters?: number;
  /** `cluster-node-timeout` in ms. Default 2000. */
  nodeTimeoutMs?: number;
  /** Time allowed for `cluster_state:ok` on every node. Default 15000 ms. */
  readyTimeoutMs?: number;
}

const SLOTS = 16384;

/** A local Redis Cluster of masters spawned from the `redis-server` binary. */
export class RedisCluster implements Closeable {
  readonly nodes: RedisNode[];

  constructor(nodes: RedisNode[]) {
    this.nodes = nodes;
  }

  /** `redis://` URLs of the masters. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** `{ host, port }` list for `new Cluster(startupNodes)` from ioredis. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  /** The node that serves `slot` according to the layout created by `startCluster`. */
  nodeForSlot(slot: number): RedisNode {
    const n = this.nodes.length;
    const index = this.nodes.findIndex((_, i) => slotRange(i, n)[1] >= slot);
    return this.nodes[index]!;
  }

  /** Stop every node. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    untrackResource(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The contiguous slots master `index` of `count` serves. */
function slotRange(index: number, count: number): [number, number] {
  const start = Math.floor((index * SLOTS) / count);
  const end = Math.floor(((index + 1) * SLOTS) / count) - 1;
  return [start, end];
}

/** A free port for a cluster bus, none of `taken`. */
async function freeBusPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await getFreePort();
    if (!taken.has(port) && (await isPortFree(port))) return port;
  }
  throw new Error("Could not find a free cluster bus port");
}

/** `CLUSTER INFO` of `node` as key/value pairs. */
async function clusterInfo(node: RedisNode): Promise<Record<string, string>> {
  const text = String(await respCall({ host: node.host, port: node.port }, "CLUSTER", "INFO"));
  const info: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const [key, value] = line.split(":");
    if (key && value !== undefined) info[key] = value.trim();
  }
  return info;
}

/**
 * Starts `masters` cluster-enabled nodes on free loopback ports, each with an explicit free
 * `cluster-port` (so `port + 10000` needs not be free), assigns contiguous slot ranges, joins them
 * with CLUSTER MEET and waits until every node reports `cluster_state:ok`.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3;
  if (count < 1) throw new Error("startCluster: masters must be >= 1");
  const nodes: RedisNode[] = [];
  const cluster = new RedisCluster(nodes);
  trackResource(cluster);
  try {
    const busPorts: number[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < count; i++) {
      let node: RedisNode | undefined;
      for (let attempt = 0; attempt < 5 && !node; attempt++) {
        const busPort = await freeBusPort(taken);
        try {
          node = await RedisNode.start({
            ...options,
            args: [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              String(options.nodeTimeoutMs ?? 2000),
              "--cluster-port",
              String(busPort),
              "--cluster-require-full-coverage",
              "yes",
              ...(options.args ?? []),
            ],
          });
          busPorts.push(busPort);
          taken.add(busPort).add(node.port);
        } catch (err) {
          if (attempt === 4) throw err;
        }
      }
      nodes.push(node!);
    }

    for (const [i, node] of nodes.entries()) {
      const [start, end] = slotRange(i, count);
      const at = { host: node.host, port: node.port };
      await respCall(at, "CLUSTER", "SET-CONFIG-EPOCH", i + 1);
      await respCall(at, "CLUSTER", "ADDSLOTSRANGE", start, end);
    }
    const first = nodes[0]!;
    for (const [i, node] of nodes.entries()) {
      if (i === 0) continue;
      await respCall(
        { host: first.host, port: first.port },
        "CLUSTER",
        "MEET",
        LOOPBACK,
        node.port,
        busPorts[i]!,
      );
    }

    const deadline = Date.now() + (options.readyTimeoutMs ?? 15000);
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => clusterInfo(n).catch(() => ({}))));
      const ready = infos.every(
        (info: Record<string, string>) =>
          info.cluster_state === "ok" && Number(info.cluster_known_nodes) === count,
      );
      if (ready) return cluster;
      if (Date.now() > deadline) {
        throw new Error(`Redis Cluster not ready in time: ${JSON.stringify(infos)}`);
      }
      await sleep(50);
    }
  } catch (err) {
    await cluster.close();
    throw err;
  }
}
