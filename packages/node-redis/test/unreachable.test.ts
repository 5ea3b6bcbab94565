import { defaultScripts } from "@redlock/core/adapter";
import { getFreePort, startRedis, teardownAll } from "@redlock/testbed";
import * as redis6 from "redis";
import * as redis4 from "redis-4";
import * as redis5 from "redis-5";
import {
  createNodeRedisRunner,
  type NodeError,
  type NodeRedisClient,
  NodeUnreachableError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
} from "../src";
import { connected, type Flavour, flavours } from "./helpers";

// A node that cannot be reached is said to be so, at once, with what to do; "no reply within
// nodeTimeout" is kept for nodes that are silent.

afterAll(() => teardownAll());

/** Generous, so that failing faster than this proves nobody waited for it. */
const options: RedlockOptions = { retryCount: 0, nodeTimeout: 5000 };
const PROMPT_MS = 1000;

/** The node error of a one-node acquisition through `client`, and how long it took. */
async function failure(client: NodeRedisClient): Promise<{ error: NodeError; ms: number }> {
  const redlock = new Redlock([client], options);
  const events: unknown[] = [];
  redlock.on("error", (error) => events.push(error));
  const started = Date.now();
  const error = await redlock.acquire(["unreachable"], 10_000).then(
    () => {
      throw new Error("expected a rejection");
    },
    (rejected: unknown) => rejected as Error,
  );
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
const notConnected = (url: string) =>
  `[${url}] the client is not connected: call \`await client.connect()\` before using it, and again after closing it.`;

const close = (client: NodeRedisClient) =>
  client.destroy ? client.destroy() : client.disconnect?.();

describe.each(flavours)("$label", (flavour: Flavour) => {
  const opened: NodeRedisClient[] = [];
  /** A client that keeps reconnecting every `delay` ms; its `connect()` is not awaited. */
  const reconnecting = (url: string, delay: number) => {
    const client = flavour.client(url, { socket: { reconnectStrategy: () => delay } });
    opened.push(client);
    void (client as unknown as { connect(): Promise<unknown> }).connect().catch(() => {});
    return client;
  };
  afterEach(async () => {
    for (const client of opened.splice(0)) if (client.isOpen) await close(client);
  });

  test("a client never connected says to call connect(), at once", async () => {
    const node = await startRedis();
    const { error, ms } = await failure(flavour.client(node.url));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error).toMatchObject({ code: "NODE_UNREACHABLE", message: notConnected(node.url) });
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test.each([
    ["destroy()", close],
    [
      "quit()",
      (client: NodeRedisClient) => (client as unknown as { quit(): Promise<unknown> }).quit(),
    ],
  ])("a client closed with %s says so, at once", async (_, closeWith) => {
    const node = await startRedis();
    const client = await connected(flavour.client(node.url));
    await closeWith(client);
    const { error, ms } = await failure(client);
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(notConnected(node.url));
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test("a port with nothing listening, a reconnecting client: connection refused, at once", async () => {
    const port = await getFreePort();
    const { error, ms } = await failure(reconnecting(`redis://127.0.0.1:${port}`, 50));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(refused(port));
    expect(error.cause).toMatchObject({ code: "ECONNREFUSED", port });
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test("while the client waits to reconnect, later calls fail at once too", async () => {
    const port = await getFreePort();
    const client = reconnecting(`redis://127.0.0.1:${port}`, 2 * PROMPT_MS);
    expect((await failure(client)).error.message).toBe(refused(port));
    // The next connection attempt is 2 s away; the last one's failure is reported now.
    const { error, ms } = await failure(client);
    expect(error.message).toBe(refused(port));
    expect(ms).toBeLessThan(PROMPT_MS);
  });

  test("a node killed under a connected, reconnecting client: connection refused, at once", async () => {
    const node = await startRedis();
    const client = await connected(
      flavour.client(node.url, { socket: { reconnectStrategy: () => 50 } }),
    );
    opened.push(client);
    await node.kill();
    // Once the client has noticed: a request written before fails as the connection drops.
    while (client.isReady) await new Promise((resolve) => setTimeout(resolve, 10));
    const { error, ms } = await failure(client);
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error.message).toBe(refused(node.port));
    expect(ms).toBeLessThan(PROMPT_MS);
  });
});

/** `createClient` of one major, as this test uses it. */
type CreateClient = (options: object) => NodeRedisClient & {
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  once(event: "end", listener: () => void): unknown;
};

describe.each([
  ["redis 4", redis4.createClient as unknown as CreateClient],
  ["redis 5", redis5.createClient as unknown as CreateClient],
  ["redis 6", redis6.createClient as unknown as CreateClient],
])("%s client without listeners of its own", (_label, createClient) => {
  // redis 5 and 6 hand out `Object.create(client)`: removing the wrapper's last listener would
  // give it an event table the client never emits on, and later listeners would never be called.
  test("its later listeners still hear the client after the runner watched it", async () => {
    const node = await startRedis();
    const client = createClient({ url: node.url, socket: { reconnectStrategy: false } });
    await client.connect();
    try {
      const runner = createNodeRedisRunner(client);
      await expect(runner.run(defaultScripts.releaseScript, ["k"], ["v"])).resolves.toEqual([
        0, 1, 0,
      ]);
      let ended = false;
      client.once("end", () => {
        ended = true;
      });
      await client.quit();
      expect(ended).toBe(true);
    } finally {
      if (client.isOpen) await close(client);
    }
  });
});
