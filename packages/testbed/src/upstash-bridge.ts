import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { LOOPBACK } from "./ports";
import { type Closeable, trackResource, untrackResource } from "./registry";
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
  | "injected-5xx";

/** One HTTP request as seen by the bridge, in arrival order. */
export interface BridgeRequest {
  path: string;
  body: unknown;
  status: number | undefined;
  outcome: BridgeOutcome;
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
 * Redis server, with HTTP-level fault hooks.
 */
export class UpstashBridge implements Closeable {
  readonly token: string;
  readonly redisUrl: string;
  /** Every request received, in order, with what the bridge did with it. */
  readonly requests: BridgeRequest[] = [];
  private readonly server: Server;
  private readonly redis: Redis;
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
    this.redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 2000,
      disconnectTimeout: 50,
      commandTimeout: options.commandTimeoutMs ?? 5000,
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

  async close(): Promise<void> {
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
    if (req.method !== "POST") {
      reply(405, { error: "Method not allowed" }, "bad-request");
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      reply(401, { error: "Unauthorized" }, "unauthorized");
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

/** Starts an `UpstashBridge` in front of `redisUrl`. */
export function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  return UpstashBridge.start(options);
}
