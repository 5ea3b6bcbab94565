import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findRedisServer,
  processControlSkipReason,
  requireControl,
  resolveRedis,
  startRedisNodes,
  teardownAll,
  whenControllable,
} from "../src";
import { client, closeClients } from "./helpers";

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
  closeClients();
});
afterAll(() => teardownAll());

test("REDIS_URLS wins and yields non-controllable endpoints", async () => {
  const nodes = await startRedisNodes(2);
  process.env.REDIS_URLS = nodes.map((n) => n.url).join(" , ");
  const resolved = await resolveRedis(2);
  expect(resolved.source).toBe("env");
  expect(resolved.urls).toEqual(nodes.map((n) => n.url));
  expect(resolved.controllable).toBe(false);
  expect(resolved.reason).toMatch(/REDIS_URLS/);
  expect(resolved.nodes).toEqual([]);
  expect(resolved.endpoints[1]).toMatchObject({ host: "127.0.0.1", port: nodes[1]!.port });
  expect(await client(resolved.urls[0]!).ping()).toBe("PONG");
  expect(() => requireControl(resolved.endpoints[0]!)).toThrow(/not process-controlled/);

  expect(processControlSkipReason()).toMatch(/REDIS_URLS/);
  const warn = jest.spyOn(console, "warn").mockImplementation(() => {});
  expect(whenControllable("run", "skip")).toBe("skip");
  expect(warn).toHaveBeenCalledWith(expect.stringMatching(/skipping process-control tests/));
  warn.mockRestore();

  await expect(resolveRedis(3)).rejects.toThrow(/lists 2 server\(s\) but this suite needs 3/);
  process.env.REDIS_URLS = "http://localhost:1";
  await expect(resolveRedis(1)).rejects.toThrow(/expected redis:\/\//);
  await resolved.close();
});

test("without REDIS_URLS a local redis-server is spawned", async () => {
  delete process.env.REDIS_URLS;
  expect(processControlSkipReason()).toBeUndefined();
  expect(whenControllable("run", "skip")).toBe("run");
  const resolved = await resolveRedis(2, { enableDebug: true });
  expect(resolved.source).toBe("local");
  expect(resolved.controllable).toBe(true);
  expect(resolved.reason).toBeUndefined();
  const node = requireControl(resolved.endpoints[0]!);
  expect(await client(node.url).call("DEBUG", "SLEEP", "0")).toBe("OK");
  const pid = node.pid!;
  await resolved.close();
  expect(() => process.kill(pid, 0)).toThrow();
});

test("REDIS_SERVER_BIN selects the binary and must be executable", async () => {
  delete process.env.REDIS_URLS;
  const real = findRedisServer()!;
  expect(real.major).toBeGreaterThanOrEqual(7);
  process.env.PATH = "";
  process.env.REDIS_SERVER_BIN = real.path;
  const resolved = await resolveRedis(1);
  expect(resolved.source).toBe("local");
  await resolved.close();
  process.env.REDIS_SERVER_BIN = "/nonexistent/redis-server";
  await expect(resolveRedis(1)).rejects.toThrow(/REDIS_SERVER_BIN=.* is not an executable/);
});

test("with no Redis anywhere it fails with one clear error", async () => {
  const empty = mkdtempSync(join(tmpdir(), "testbed-empty-path-"));
  try {
    delete process.env.REDIS_URLS;
    delete process.env.REDIS_SERVER_BIN;
    process.env.PATH = empty;
    process.env.DOCKER_HOST = "tcp://127.0.0.1:1";
    const err = await resolveRedis(1, { dockerTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/^No Redis available for tests: set REDIS_URLS/);
    expect(message).toContain("apt-get install redis-server");
    expect(message).toContain("Docker engine");
    await expect(resolveRedis(1, { docker: false })).rejects.toThrow(/Docker probing disabled/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
