import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScriptRunner } from "@redlock/core";
import { eventually, settle } from "../src/context";
import {
  type RedisTargetEndpoint,
  redisTarget,
  respCall,
  startRedisNodes,
  teardownAll,
  trackedResourceCount,
} from "../src/redis";

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
});
afterAll(() => teardownAll());

/** A runner that sends each script with EVAL on a fresh connection, failing after 500 ms. */
function evalRunner(endpoint: RedisTargetEndpoint): ScriptRunner {
  const at = {
    host: endpoint.host,
    port: endpoint.port,
    timeoutMs: 500,
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
  };
  return {
    name: endpoint.url,
    run: (script, keys, args) => respCall(at, "EVAL", script.source, keys.length, ...keys, ...args),
  };
}

const GET = { name: "acquire", source: "return redis.call('GET', KEYS[1])", sha1: "" } as const;

describe("redisTarget", () => {
  test("runners connect through a fault proxy each; pause holds requests, down fails them", async () => {
    delete process.env.REDIS_URLS;
    const before = trackedResourceCount();
    const endpoints: RedisTargetEndpoint[] = [];
    const target = redisTarget("eval", (endpoint) => {
      endpoints.push(endpoint);
      return { runner: evalRunner(endpoint) };
    });
    const nodes = await target.setup(3);
    expect(nodes.length).toBe(3);
    expect(endpoints.map((e) => e.url)).toEqual(
      endpoints.map((e) => `redis://127.0.0.1:${e.port}`),
    );
    const [node] = nodes;
    await node!.set("k", "v", 10_000);
    expect(await node!.runner.run(GET, ["k"], [])).toBe("v");

    await node!.pause!();
    await expect(node!.runner.run(GET, ["k"], [])).rejects.toThrow(/timed out/);
    expect(await node!.get("k")).toBe("v");
    await node!.resume!();
    expect(await node!.runner.run(GET, ["k"], [])).toBe("v");

    await node!.down!();
    const down = await settle(node!.runner.run(GET, ["k"], []));
    expect(down.status === "rejected" && String(down.error)).toMatch(/ECONNRESET|closed/);
    await node!.up!();
    expect(await node!.runner.run(GET, ["k"], [])).toBe("v");

    const opened = await node!.openRunner!();
    expect(await opened.openConnections()).toBe(0);
    const latest = endpoints.at(-1)!;
    expect(latest.port).not.toBe(endpoints[0]!.port);
    const socket = connect({ host: latest.host, port: latest.port });
    expect(await eventually(async () => (await opened.openConnections()) === 1)).toBe(true);
    await node!.pause!();
    await expect(opened.runner.run(GET, ["k"], [])).rejects.toThrow(/timed out/);
    await node!.resume!();
    socket.destroy();
    expect(await eventually(async () => (await opened.openConnections()) === 0)).toBe(true);

    await target.teardown();
    expect(trackedResourceCount()).toBe(before);
    await expect(respCall({ host: latest.host, port: latest.port }, "PING")).rejects.toThrow();
  });

  test("REDIS_URLS: its servers, credentials included, and no cluster", async () => {
    const servers = await startRedisNodes(2);
    for (const server of servers) await respCall(server, "CONFIG", "SET", "requirepass", "s3cret");
    process.env.REDIS_URLS = servers.map((s) => `redis://:s3cret@${s.host}:${s.port}`).join(",");
    const endpoints: RedisTargetEndpoint[] = [];
    const target = redisTarget(
      "eval",
      (endpoint) => {
        endpoints.push(endpoint);
        return { runner: evalRunner(endpoint) };
      },
      { cluster: () => ({ runner: { run: async () => null } }) },
    );
    expect(target.cluster).toBeUndefined();
    expect(target.unavailable?.cluster).toMatch(/REDIS_URLS is set/);
    await expect(target.setup(3)).rejects.toThrow(/lists 2 server\(s\) but this suite needs 3/);

    const nodes = await target.setup(2);
    expect(endpoints.map((e) => e.password)).toEqual(["s3cret", "s3cret"]);
    expect(endpoints[0]!.url).toMatch(/^redis:\/\/:s3cret@127\.0\.0\.1:\d+$/);
    await nodes[1]!.set("k", "on the second server", 10_000);
    const direct = { host: servers[1]!.host, port: servers[1]!.port, password: "s3cret" };
    expect(await respCall(direct, "GET", "k")).toBe("on the second server");
    expect(await nodes[1]!.runner.run(GET, ["k"], [])).toBe("on the second server");
    await target.teardown();
    for (const server of servers) await server.stop();
  });

  test("without redis-server or REDIS_URLS, setup says how to install Redis", async () => {
    const empty = mkdtempSync(join(tmpdir(), "redis-target-empty-path-"));
    try {
      delete process.env.REDIS_URLS;
      delete process.env.REDIS_SERVER_BIN;
      process.env.PATH = empty;
      const target = redisTarget("eval", (endpoint) => ({ runner: evalRunner(endpoint) }), {
        cluster: () => ({ runner: { run: async () => null } }),
      });
      expect(target.unavailable?.cluster).toMatch(/redis-server not found/);
      await expect(target.setup(1)).rejects.toThrow(
        /No Redis available for tests: set REDIS_URLS .*apt-get install redis-server.*brew install redis/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("with a cluster runner, a local Redis Cluster for the cluster routing group", async () => {
    delete process.env.REDIS_URLS;
    let startupNodes: readonly RedisTargetEndpoint[] = [];
    const target = redisTarget("eval", (endpoint) => ({ runner: evalRunner(endpoint) }), {
      cluster: (nodes) => {
        startupNodes = nodes;
        return { runner: { name: "cluster", run: async () => null } };
      },
    });
    const cluster = await target.cluster!.setup();
    expect(cluster.masters).toBe(3);
    expect(startupNodes.length).toBe(3);
    const masters = new Set<number>();
    for (const key of ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]) {
      const master = await cluster.masterOf(key);
      masters.add(master);
      await respCall(startupNodes[master]!, "SET", key, `v-${key}`);
      expect(await cluster.get(key)).toBe(`v-${key}`);
    }
    expect(masters.size).toBeGreaterThan(1);
    await cluster.flushAll();
    expect(await cluster.get("alpha")).toBe(null);
    await target.teardown();
    await expect(respCall(startupNodes[0]!, "PING")).rejects.toThrow();
  });
});
