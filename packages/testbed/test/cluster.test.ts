import { Cluster } from "ioredis";
import { type RedisCluster, respCall, startCluster, teardownAll } from "../src";
import { client, closeClients } from "./helpers";

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startCluster();
});
afterEach(() => closeClients());
afterAll(() => teardownAll());

test("three masters report cluster_state:ok and cover all slots", async () => {
  expect(cluster.nodes).toHaveLength(3);
  expect(cluster.urls).toEqual(cluster.nodes.map((n) => `redis://127.0.0.1:${n.port}`));
  for (const node of cluster.nodes) {
    const info = String(await respCall(node, "CLUSTER", "INFO"));
    expect(info).toContain("cluster_state:ok");
    expect(info).toContain("cluster_slots_assigned:16384");
    expect(info).toContain("cluster_known_nodes:3");
  }
});

test("an ioredis Cluster client routes writes by slot", async () => {
  const redis = new Cluster(cluster.startupNodes, {
    clusterRetryStrategy: () => null,
    redisOptions: { maxRetriesPerRequest: 1, disconnectTimeout: 50 },
  });
  redis.on("error", () => {});
  try {
    const keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    for (const key of keys) await redis.set(key, `v-${key}`);
    const owners = new Set<number>();
    for (const key of keys) {
      const slot = Number(await respCall(cluster.nodes[0]!, "CLUSTER", "KEYSLOT", key));
      const owner = cluster.nodeForSlot(slot);
      owners.add(owner.port);
      expect(await client(owner.url).get(key)).toBe(`v-${key}`);
      for (const other of cluster.nodes.filter((n) => n !== owner)) {
        await expect(client(other.url).get(key)).rejects.toThrow(/^MOVED/);
      }
    }
    expect(owners.size).toBeGreaterThan(1);
    expect(await redis.get("alpha")).toBe("v-alpha");
  } finally {
    redis.disconnect();
  }
});

test("close stops every node", async () => {
  const pids = cluster.nodes.map((n) => n.pid!);
  await cluster.close();
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});
