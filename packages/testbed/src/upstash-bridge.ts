import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type Closeable,
  LOOPBACK,
  trackResource,
  untrackResource,
} from "@redlock/test-suite/redis";
import { Redis } from "ioredis";
import { sleep } from "./sleep";

export interface UpstashBridgeOptions {
  /** `redis://host:port` of the Redis server that executes the commands. */
  redisUrl: string;
  /** Bearer token clients must send. Default: random hex. */
  token?: string;
  /** Per-command timeout towards Redis; a timeout answers 500. Default 5000 ms. */
  commandTimeoutMs?: number;
}

export type BridgeOutcome =
  | "ok"
  | "redis-error"
  | "unreachable"
  | "unauthorized"
  | "bad-request"
  | "dropped-request"
  | "dropped-response"
  | "injected-5xx"
  /** A stream's client went away before the stream was open. */
  | "client-gone";

/**
 * One HTTP request as seen by the bridge, in arrival order. A pub/sub stream
 * (`/subscribe/<channel>`, `/psubscribe/<pattern>`) is one request: its `path` is the URL path as
 * sent, its `body` the command the path spells (`["subscribe", channel]`), its `status` 200 once
 * the stream is open.
 */
export interface BridgeRequest {
  path: string;
  body: unknown;
  status: number | undefined;
  outcome: BridgeOutcome;
}

/** Pub/sub commands served as server-sent-event streams, by the first segment of the path. */
type StreamKind = "subscribe" | "psubscribe";

/** One open server-sent-events stream and the Redis connection subscribed for it. */
interface Stream {
  readonly kind: StreamKind;
  readonly channels: readonly string[];
  readonly res: ServerResponse;
  readonly subscriber: Redis;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Entry = { result: Json } | { error: string };

class Unreachable extends Error {}

/** Commands that would change the state of the shared connection. */
const REJECTED = new Set([
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "select",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "quit",
  "reset",
  "hello",
  "auth",
  "client",
]);

function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === "ReplyError";
}

function encode(value: unknown, base64: boolean): Json {
  if (Buffer.isBuffer(value)) return base64 ? value.toString("base64") : value.toString("utf8");
  if (typeof value === "string") return base64 ? Buffer.from(value).toString("base64") : value;
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (value instanceof Error) return encode(value.message, base64);
  if (value === undefined) return null;
  return value as Json;
}

function toArgs(command: unknown): [string, ...string[]] {
  if (!Array.isArray(command) || command.length === 0) {
    throw new TypeError("ERR a command must be a non-empty JSON array");
  }
  const [name, ...rest] = command as unknown[];
  if (typeof name !== "string") throw new TypeError("ERR the command name must be a string");
  if (REJECTED.has(name.toLowerCase())) {
    throw new TypeError(`ERR '${name}' is not supported by the test bridge`);
  }
  const args = rest.map((a) =>
    typeof a === "string"
      ? a
      : typeof a === "number" || typeof a === "boolean"
        ? String(a)
        : JSON.stringify(a),
  );
  return [name, ...args];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * A local HTTP server speaking the Upstash REST protocol used by `@upstash/redis`
 * (`POST /`, `/pipeline`, `/multi-exec`, Bearer auth, `Upstash-Encoding: base64`) in front of one
 * Redis server, with HTTP-level fault hooks. Pub/sub goes over server-sent events
 * (`/subscribe/<channel>`, `/psubscribe/<pattern>`, see `openStream`), one Redis connection per
 * stream; `streams` counts the open ones.
 */
export class UpstashBridge implements Closeable {
  readonly token: string;
  readonly redisUrl: string;
  /** Every request received, in order, with what the bridge did with it. */
  readonly requests: BridgeRequest[] = [];
  private readonly server: Server;
  private readonly redis: Redis;
  private readonly commandTimeoutMs: number;
  private readonly openStreams = new Set<Stream>();
  private closing = false;
  private _port = 0;
  private delayMs = 0;
  private delays = 0;
  private dropRequests = 0;
  private dropResponses = 0;
  private failures = 0;
  private failureStatus = 500;

  private constructor(options: UpstashBridgeOptions) {
    this.token = options.token ?? randomBytes(16).toString("hex");
    this.redisUrl = options.redisUrl;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 2000,
      disconnectTimeout: 50,
      commandTimeout: this.commandTimeoutMs,
      retryStrategy: (times) => Math.min(times * 50, 500),
    });
    this.redis.on("error", () => {});
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) this.send(res, 500, { error: "ERR bridge failure" });
      });
    });
  }

  /** Connects to Redis and listens on a free loopback port. */
  static async start(options: UpstashBridgeOptions): Promise<UpstashBridge> {
    const bridge = new UpstashBridge(options);
    try {
      await bridge.redis.connect();
    } catch (err) {
      bridge.redis.disconnect();
      throw new Error(`UpstashBridge: cannot connect to ${options.redisUrl}: ${String(err)}`);
    }
    await new Promise<void>((resolve, reject) => {
      bridge.server.once("error", reject);
      bridge.server.listen({ port: 0, host: LOOPBACK }, () => {
        bridge.server.off("error", reject);
        resolve();
      });
    });
    const address = bridge.server.address();
    bridge._port = typeof address === "object" && address ? address.port : 0;
    trackResource(bridge);
    return bridge;
  }

  get port(): number {
    return this._port;
  }

  /** Base URL for `new Redis({ url, token })` from `@upstash/redis`. */
  get url(): string {
    return `http://${LOOPBACK}:${this._port}`;
  }

  /** Number of pub/sub streams open now. */
  get streams(): number {
    return this.openStreams.size;
  }

  /** The channels (and patterns) of the open streams, one entry per stream and channel. */
  get streamChannels(): string[] {
    return [...this.openStreams].flatMap((stream) => stream.channels);
  }

  /** Wait `ms` before handling each of the next `times` requests (0 ms turns it off). */
  delay(ms: number, times = Number.POSITIVE_INFINITY): void {
    this.delayMs = Math.max(0, ms);
    this.delays = times;
  }

  /** Destroy the socket of the next `times` requests without running them. */
  dropRequest(times = Number.POSITIVE_INFINITY): void {
    this.dropRequests = times;
  }

  /** Run the next `times` requests on Redis, then destroy the socket instead of answering. */
  dropResponse(times = Number.POSITIVE_INFINITY): void {
    this.dropResponses = times;
  }

  /** Answer the next `times` requests with `status` (default 500) without running them. */
  status5xx(status = 500, times = Number.POSITIVE_INFINITY): void {
    this.failureStatus = status;
    this.failures = times;
  }

  clearFaults(): void {
    this.delayMs = 0;
    this.delays = 0;
    this.dropRequests = 0;
    this.dropResponses = 0;
    this.failures = 0;
  }

  /**
   * Ends every stream (each client reads the end of its stream, as when the server closes it),
   * then closes the connections and the server.
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.openStreams].map((stream) => this.endStream(stream)));
    this.server.closeAllConnections();
    if (this.server.listening) {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
    this.redis.disconnect();
    untrackResource(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    const raw = await readBody(req);
    const record: BridgeRequest = { path, body: raw, status: undefined, outcome: "ok" };
    this.requests.push(record);
    const reply = (status: number, body: unknown, outcome: BridgeOutcome) => {
      record.status = status;
      record.outcome = outcome;
      this.send(res, status, body);
    };

    if (this.delayMs > 0 && this.delays > 0) {
      this.delays--;
      await sleep(this.delayMs);
    }
    if (this.dropRequests > 0) {
      this.dropRequests--;
      record.outcome = "dropped-request";
      req.socket.destroy();
      return;
    }
    if (this.failures > 0) {
      this.failures--;
      reply(this.failureStatus, { error: "Injected failure" }, "injected-5xx");
      return;
    }
    const stream = streamRequest(path);
    if (req.method !== "POST" && !(stream && req.method === "GET")) {
      reply(405, { error: "Method not allowed" }, "bad-request");
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      reply(401, { error: "Unauthorized" }, "unauthorized");
      return;
    }
    if (stream) {
      if ("error" in stream) {
        reply(400, { error: stream.error }, "bad-request");
        return;
      }
      record.body = [stream.kind, ...stream.channels];
      await this.openStream(res, record, stream.kind, stream.channels);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
      record.body = body;
    } catch {
      reply(400, { error: "ERR request body is not valid JSON" }, "bad-request");
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";

    let status: number;
    let payload: unknown;
    let outcome: BridgeOutcome = "ok";
    try {
      if (path === "/") {
        const entry = await this.runOne(body);
        if ("error" in entry) {
          status = 400;
          payload = entry;
          outcome = "redis-error";
        } else {
          status = 200;
          payload = { result: encode(entry.result, base64) };
        }
      } else if (path === "/pipeline" || path === "/multi-exec") {
        if (!Array.isArray(body)) throw new TypeError("ERR the body must be an array of commands");
        const entries =
          path === "/pipeline" ? await this.runPipeline(body) : await this.runMulti(body);
        status = 200;
        payload = entries.map((e) => ("error" in e ? e : { result: encode(e.result, base64) }));
      } else {
        reply(404, { error: `Not found: ${path}` }, "bad-request");
        return;
      }
    } catch (err) {
      if (err instanceof Unreachable) {
        status = 500;
        payload = { error: err.message };
        outcome = "unreachable";
      } else {
        status = 400;
        payload = { error: err instanceof Error ? err.message : String(err) };
        outcome = isReplyError(err) ? "redis-error" : "bad-request";
      }
    }

    if (this.dropResponses > 0) {
      this.dropResponses--;
      record.status = status;
      record.outcome = "dropped-response";
      res.socket?.destroy();
      return;
    }
    reply(status, payload, outcome);
  }

  /**
   * Serve `SUBSCRIBE` or `PSUBSCRIBE` the way `@upstash/redis` (`redis.subscribe()`,
   * `redis.psubscribe()`) consumes it: a `text/event-stream` answer fed by a Redis connection of
   * its own, one `data:` line per event, fields joined by commas: `subscribe,<channel>,<count>`
   * (`psubscribe,<pattern>,<count>`) for each channel once the subscription is active, then
   * `message,<channel>,<payload>` and `pmessage,<pattern>,<channel>,<payload>`. Payloads are sent
   * as they are (never base64). The stream ends when the client goes away, when its Redis
   * connection is lost, or when the bridge closes. Faults apply to opening a stream as to any
   * request; `dropResponse` subscribes, then destroys the socket instead of answering.
   */
  private async openStream(
    res: ServerResponse,
    record: BridgeRequest,
    kind: StreamKind,
    channels: readonly string[],
  ): Promise<void> {
    const subscriber = new Redis(this.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      // A lost connection ends the stream: the client sees its end instead of a silent gap.
      retryStrategy: () => null,
      autoResubscribe: false,
      connectTimeout: 2000,
      disconnectTimeout: 50,
      commandTimeout: this.commandTimeoutMs,
    });
    subscriber.on("error", () => {});
    let stream: Stream | undefined;
    let gone = false;
    res.once("close", () => {
      gone = true;
      if (stream) this.openStreams.delete(stream);
      subscriber.disconnect();
    });
    // Messages can come in the same read as the subscription's reply: keep them until the
    // confirmation lines are written.
    let pending: string[] | undefined = [];
    const push = (fields: string[]) => {
      if (pending) pending.push(sse(fields));
      else if (!res.writableEnded) res.write(sse(fields));
    };
    subscriber.on("messageBuffer", (channel: Buffer, message: Buffer) =>
      push(["message", channel.toString(), message.toString()]),
    );
    subscriber.on("pmessageBuffer", (pattern: Buffer, channel: Buffer, message: Buffer) =>
      push(["pmessage", pattern.toString(), channel.toString(), message.toString()]),
    );

    let failure: { status: number; payload: unknown; outcome: BridgeOutcome } | undefined;
    try {
      await subscriber.connect();
      if (kind === "subscribe") await subscriber.subscribe(...channels);
      else await subscriber.psubscribe(...channels);
    } catch (err) {
      subscriber.disconnect();
      const message = err instanceof Error ? err.message : String(err);
      failure = isReplyError(err)
        ? { status: 400, payload: { error: message }, outcome: "redis-error" }
        : {
            status: 500,
            payload: { error: `Redis unreachable: ${message}` },
            outcome: "unreachable",
          };
    }
    // The client may have gone before this stream's close listener was added.
    if (gone || res.destroyed || !res.socket || res.socket.destroyed) {
      record.outcome = "client-gone";
      subscriber.disconnect();
      return;
    }
    if (this.dropResponses > 0) {
      this.dropResponses--;
      record.status = failure?.status ?? 200;
      record.outcome = "dropped-response";
      subscriber.disconnect();
      res.socket?.destroy();
      return;
    }
    if (!failure && this.closing) {
      subscriber.disconnect();
      failure = {
        status: 503,
        payload: { error: "the bridge is closing" },
        outcome: "unreachable",
      };
    }
    record.status = failure?.status ?? 200;
    record.outcome = failure?.outcome ?? "ok";
    if (failure) {
      this.send(res, failure.status, failure.payload);
      return;
    }

    stream = { kind, channels, res, subscriber };
    this.openStreams.add(stream);
    const own = stream;
    subscriber.once("end", () => void this.endStream(own));
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const confirmations = channels.map((channel, i) => sse([kind, channel, String(i + 1)]));
    const held = pending;
    pending = undefined;
    res.write(confirmations.join("") + held.join(""));
    // Lost before the "end" listener was added: the stream ends after its confirmation.
    if (subscriber.status === "end") void this.endStream(own);
  }

  /** End a stream as a server does: the client reads the end of the body. */
  private endStream(stream: Stream): Promise<void> {
    this.openStreams.delete(stream);
    stream.subscriber.disconnect();
    const { res } = stream;
    if (res.writableEnded || res.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 200);
      res.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      res.end();
    });
  }

  private settle(err: unknown): Entry {
    if (isReplyError(err)) return { error: err.message };
    if (err instanceof TypeError) return { error: err.message };
    throw new Unreachable(`Redis unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }

  private async runOne(command: unknown): Promise<Entry> {
    const [name, ...args] = toArgs(command);
    try {
      return { result: (await this.redis.callBuffer(name, ...args)) as Json };
    } catch (err) {
      return this.settle(err);
    }
  }

  private async runPipeline(commands: unknown[]): Promise<Entry[]> {
    const pending = commands.map((command) => {
      try {
        const [name, ...args] = toArgs(command);
        return this.redis.callBuffer(name, ...args);
      } catch (err) {
        return Promise.reject(err);
      }
    });
    const settled = await Promise.allSettled(pending);
    return settled.map((s) =>
      s.status === "fulfilled" ? { result: s.value as Json } : this.settle(s.reason),
    );
  }

  private async runMulti(commands: unknown[]): Promise<Entry[]> {
    const parsed = commands.map(toArgs);
    const tx = this.redis.multi();
    for (const [name, ...args] of parsed) tx.callBuffer(name, ...args);
    let out: [Error | null, unknown][] | null;
    try {
      out = await tx.exec();
    } catch (err) {
      if (isReplyError(err)) throw err;
      return [this.settle(err)];
    }
    if (!out)
      throw Object.assign(new Error("EXECABORT Transaction discarded"), { name: "ReplyError" });
    return out.map(([err, result]) => (err ? this.settle(err) : { result: result as Json }));
  }
}

/**
 * `/subscribe/<channel>…` and `/psubscribe/<pattern>…` name a pub/sub stream; each further path
 * segment is one channel, percent-decoded. Anything else is not a stream (`undefined`).
 */
function streamRequest(
  path: string,
): { kind: StreamKind; channels: string[] } | { error: string } | undefined {
  const [, first = "", ...segments] = path.split("/");
  const kind = first.toLowerCase();
  if (kind !== "subscribe" && kind !== "psubscribe") return undefined;
  if (segments.length === 0)
    return { error: `ERR wrong number of arguments for '${kind}' command` };
  try {
    return { kind, channels: segments.map((segment) => decodeURIComponent(segment)) };
  } catch {
    return { error: "ERR the path is not valid percent-encoded UTF-8" };
  }
}

/**
 * One server-sent event whose data is `fields` joined by commas. Each line of it is a `data:`
 * line, so a payload with line breaks stays inside its event.
 */
function sse(fields: readonly string[]): string {
  const lines = fields.join(",").split(/\r\n|\r|\n/);
  return `${lines.map((line) => `data: ${line}\n`).join("")}\n`;
}

/** Starts an `UpstashBridge` in front of `redisUrl`. */
export function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  return UpstashBridge.start(options);
}
