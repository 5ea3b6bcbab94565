import { getFreePort, startRedis, teardownAll } from "@redlock/testbed";
import {
  type NodeError,
  NodeUnreachableError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
} from "../src";
import { closeClients, drivers, eventually, rejection, type TestClient } from "./helpers";

// A node that cannot be reached is said to be so, at once, with what to do; "no reply within
// nodeTimeout" is kept for nodes that are silent.

afterEach(() => closeClients());
afterAll(() => teardownAll());

/** Generous, so that failing faster than this proves nobody waited for it. */
const options: RedlockOptions = { retryCount: 0, nodeTimeout: 5000 };
const PROMPT_MS = 1000;

/** The node error of a one-node acquisition through `client`, and how long it took. */
async function failure(client: TestClient): Promise<{ error: NodeError; ms: number }> {
  const redlock = new Redlock([client], options);
  const events: unknown[] = [];
  redlock.on("error", (error) => events.push(error));
  const started = Date.now();
  const error = await rejection(redlock.acquire(["unreachable"], 10_000));
  const ms = Date.now() - started;
  expect(error).toBeInstanceOf(QuorumUnreachableError);
  // The acquisition's failure, then that of its clean-up release.
  await redlock.idle();
  expect(events[0]).toBe(error.cause);
  for (const event of events) expect(event).toBeInstanceOf(NodeUnreachableError);
  return { error: error.cause as NodeError, ms };
}

const refused = (port: number) =>
  `[redis://127.0.0.1:${port}] connection refused (ECONNREFUSED) at 127.0.0.1:${port}: is redis-server running there, on that port?`;

describe.each(drivers)("%s", (_label, driver) => {
  test.each([
    ["gives up at once", () => null],
    ["keeps reconnecting", () => 50],
  ])(
    "a port with nothing listening, a client that %s: connection refused, at once",
    async (_, retryStrategy) => {
      const port = await getFreePort();
      const { error, ms } = await failure(
        driver.redis(`redis://127.0.0.1:${port}`, { retryStrategy }),
      );
      expect(error).toBeInstanceOf(NodeUnreachableError);
      expect(error).toMatchObject({ code: "NODE_UNREACHABLE", message: refused(port) });
      expect(error.cause).toMatchObject({ code: "ECONNREFUSED", port });
      expect(ms).toBeLessThan(PROMPT_MS);
    },
  );

  test("while the client waits to reconnect, later calls fail at once too", async () => {
    const port = await getFreePort();
    const client = driver.redis(`redis://127.0.0.1:${port}`, {
      retryStrategy: () => 2 * PROMPT_MS,
    });
    expect((await failure(client)).error.message).toBe(refused(port));
    // The next connection attempt is 2 s away; the last one's failure is reported now.
    const { error, ms } = await failure(client);
    expect(error.message).toBe(refused(port));
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test.each([
    ["disconnect()", (client: TestClient) => client.disconnect()],
    ["quit()", (client: TestClient) => client.quit()],
  ])("a client closed with %s says so, at once", async (_, close) => {
    const node = await startRedis();
    const client = driver.redis(node.url);
    await client.get("warm-up");
    await close(client);
    const { error, ms } = await failure(client);
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(
      `[${node.url}] the client is closed: call client.connect() to reconnect it, or create a new client.`,
    );
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test("a node killed under a connected, reconnecting client: connection refused, at once", async () => {
    const node = await startRedis();
    const client = driver.redis(node.url, { retryStrategy: () => 50 });
    await client.get("warm-up");
    await node.kill();
    // Once the client has noticed (a request written before is resent after a reconnect).
    await eventually(() => expect(client.status).not.toBe("ready"));
    const { error, ms } = await failure(client);
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(refused(node.port));
    expect(ms).toBeLessThan(PROMPT_MS);
  });
});

test("redlock.quit() closes a client that keeps reconnecting to a refusing node, without waiting for its retries", async () => {
  // ioredis' defaults: 20 retries per command with back-off, so a QUIT queued behind the
  // acquisition's commands would settle only after a minute and more.
  const { Redis } = await import("ioredis");
  const port = await getFreePort();
  const client = new Redis(`redis://127.0.0.1:${port}`);
  client.on("error", () => {});
  const redlock = new Redlock([client], options);
  await expect(redlock.acquire(["refused"], 10_000)).rejects.toBeInstanceOf(QuorumUnreachableError);
  await redlock.quit();
  // Closed for good: it stops reconnecting (ioredis reports "end" once the socket is gone).
  await eventually(() => expect(client.status).toBe("end"), 8000);
}, 10_000);
