import { Redis as Upstash } from "@upstash/redis";
import {
  type RedisNode,
  startRedis,
  startUpstashBridge,
  teardownAll,
  type UpstashBridge,
} from "../src";
import { client, closeClients, eventually } from "./helpers";

/**
 * The bridge's pub/sub streams, as `@upstash/redis` 1.39 requests them (`redis.subscribe()`):
 * `POST /subscribe/<channel>` with `Accept: text/event-stream` and the body `[]`, answered with
 * one `data: <type>,<channel>,<…>` line per event.
 */

let node: RedisNode;
let bridge: UpstashBridge;

beforeAll(async () => {
  node = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: node.url });
});
beforeEach(async () => {
  bridge.clearFaults();
  bridge.requests.length = 0;
  await client(node.url).flushall();
});
afterEach(async () => {
  closeClients();
  await eventually(async () => expect(bridge.streams).toBe(0));
});
afterAll(() => teardownAll());

/** An open SSE response and a reader of its text. */
interface Opened {
  response: Response;
  /** Text received so far. */
  text: () => string;
  /** Resolves once the received text contains `expected`. */
  until: (expected: string) => Promise<void>;
  /** Resolves with `true` once the server ended the body, `false` if the read failed. */
  ended: Promise<boolean>;
  abort: () => void;
}

async function open(
  path: string,
  init: { method?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Opened> {
  const controller = new AbortController();
  const response = await fetch(`${bridge.url}${path}`, {
    method: init.method ?? "POST",
    headers: {
      authorization: `Bearer ${init.token ?? bridge.token}`,
      accept: "text/event-stream",
      "content-type": "application/json",
      ...init.headers,
    },
    body: (init.method ?? "POST") === "POST" ? "[]" : undefined,
    signal: controller.signal,
  });
  let received = "";
  const waiting = new Set<() => void>();
  const decoder = new TextDecoder();
  const ended = (async () => {
    if (!response.body) return true;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        received += decoder.decode(value, { stream: true });
        for (const wake of waiting) wake();
      }
    } catch {
      return false;
    }
  })();
  const until = async (expected: string) => {
    while (!received.includes(expected)) {
      const more = new Promise<void>((resolve) => waiting.add(resolve));
      const result = await Promise.race([more.then(() => "more"), ended.then(() => "ended")]);
      if (result === "ended" && !received.includes(expected)) {
        throw new Error(`the stream ended without ${JSON.stringify(expected)}: ${received}`);
      }
    }
  };
  return { response, text: () => received, until, ended, abort: () => controller.abort() };
}

const numsub = async (channel: string) =>
  ((await client(node.url).pubsub("NUMSUB", channel)) as [string, number])[1];

test("POST /subscribe/<channel> confirms, then streams each message as one event", async () => {
  const stream = await open("/subscribe/news");
  expect(stream.response.status).toBe(200);
  expect(stream.response.headers.get("content-type")).toBe("text/event-stream");
  await stream.until("data: subscribe,news,1\n\n");
  expect(bridge.streams).toBe(1);
  expect(bridge.streamChannels).toEqual(["news"]);
  expect(bridge.requests).toEqual([
    { path: "/subscribe/news", body: ["subscribe", "news"], status: 200, outcome: "ok" },
  ]);

  const publisher = client(node.url);
  expect(await publisher.publish("news", "")).toBe(1);
  expect(await publisher.publish("news", '{"a":1}')).toBe(1);
  await stream.until('data: message,news,{"a":1}\n\n');
  expect(stream.text()).toBe(
    'data: subscribe,news,1\n\ndata: message,news,\n\ndata: message,news,{"a":1}\n\n',
  );

  stream.abort();
  expect(await stream.ended).toBe(false);
  await eventually(async () => expect(bridge.streams).toBe(0));
  await eventually(async () => expect(await numsub("news")).toBe(0));
});

test("path segments are percent-decoded channels; a payload with line breaks stays in its event", async () => {
  const channel = "redlock:released:a/b?c#d%41 é";
  const stream = await open(`/subscribe/${encodeURIComponent(channel)}`);
  await stream.until(`data: subscribe,${channel},1\n\n`);
  expect(bridge.requests[0]?.body).toEqual(["subscribe", channel]);
  await client(node.url).publish(channel, "two\nlines");
  await stream.until("data: lines\n\n");
  expect(stream.text()).toContain(`data: message,${channel},two\ndata: lines\n\n`);
  stream.abort();

  const several = await open("/subscribe/x/y");
  await several.until("data: subscribe,x,1\n\ndata: subscribe,y,2\n\n");
  several.abort();
  const bad = await open("/subscribe/%E0%A4%A");
  expect(bad.response.status).toBe(400);
});

test("POST /psubscribe/<pattern> streams pmessage events; GET works as well", async () => {
  const stream = await open("/psubscribe/jobs:*", { method: "GET" });
  await stream.until("data: psubscribe,jobs:*,1\n\n");
  await client(node.url).publish("jobs:1", "done");
  await stream.until("data: pmessage,jobs:*,jobs:1,done\n\n");
  stream.abort();
});

test("a stream is authenticated, refused by injected faults like any request, and only POST or GET", async () => {
  const wrong = await open("/subscribe/news", { token: "wrong" });
  expect(wrong.response.status).toBe(401);
  await wrong.ended;
  expect(JSON.parse(wrong.text())).toEqual({ error: "Unauthorized" });

  bridge.status5xx(503, 1);
  const failed = await open("/subscribe/news");
  expect(failed.response.status).toBe(503);
  await failed.ended;
  expect(JSON.parse(failed.text())).toEqual({ error: "Injected failure" });

  const put = await open("/subscribe/news", { method: "PUT" });
  expect(put.response.status).toBe(405);
  expect(bridge.requests.map((r) => r.outcome)).toEqual([
    "unauthorized",
    "injected-5xx",
    "bad-request",
  ]);

  // dropResponse: subscribed on Redis, then the socket is destroyed and the subscription goes.
  bridge.dropResponse(1);
  await expect(open("/subscribe/news")).rejects.toThrow();
  await eventually(async () => expect(await numsub("news")).toBe(0));
  expect(bridge.requests.at(-1)?.outcome).toBe("dropped-response");
  expect(bridge.streams).toBe(0);

  // SUBSCRIBE in a JSON body is still refused: streams are the only way to subscribe.
  const body = await fetch(bridge.url, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}` },
    body: JSON.stringify(["subscribe", "news"]),
  });
  expect(body.status).toBe(400);
});

test("@upstash/redis subscribe() receives confirmations and messages through the bridge", async () => {
  const upstash = new Upstash({ url: bridge.url, token: bridge.token, enableTelemetry: false });
  const subscriber = upstash.subscribe<{ n: number }>("events");
  const counts: number[] = [];
  const messages: unknown[] = [];
  const confirmed = new Promise<void>((resolve) =>
    subscriber.on("subscribe", (count) => {
      counts.push(count);
      resolve();
    }),
  );
  const received = new Promise<void>((resolve) =>
    subscriber.on("message", ({ message }) => {
      messages.push(message);
      resolve();
    }),
  );
  await confirmed;
  expect(counts).toEqual([1]);
  await upstash.publish("events", { n: 1 });
  await received;
  expect(messages).toEqual([{ n: 1 }]);
  await subscriber.unsubscribe();
  await eventually(async () => expect(bridge.streams).toBe(0));
});

test("a stream ends cleanly when its Redis connection is lost", async () => {
  const stream = await open("/subscribe/news");
  await stream.until("data: subscribe,news,1\n\n");
  await client(node.url).call("CLIENT", "KILL", "TYPE", "pubsub");
  expect(await stream.ended).toBe(true);
  await eventually(async () => expect(bridge.streams).toBe(0));
});

test("close() ends every open stream cleanly", async () => {
  const own = await startUpstashBridge({ redisUrl: node.url });
  const stream = await fetch(`${own.url}/subscribe/news`, {
    method: "POST",
    headers: { authorization: `Bearer ${own.token}`, accept: "text/event-stream" },
    body: "[]",
  });
  const reader = stream.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: subscribe,news,1\n\n");
  expect(own.streams).toBe(1);
  await own.close();
  expect(own.streams).toBe(0);
  expect((await reader.read()).done).toBe(true);
  await eventually(async () => expect(await numsub("news")).toBe(0));
});
