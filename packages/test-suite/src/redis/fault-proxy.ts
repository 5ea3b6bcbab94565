import { connect, createServer, type Server, type Socket } from "node:net";
import { LOOPBACK } from "./ports";
import { type Closeable, trackResource, untrackResource } from "./registry";

/** Which way a delay applies: both ways, requests only, or replies only. */
export type DelayDirection = "both" | "toServer" | "toClient";

/**
 * - `pass`: bytes flow unchanged.
 * - `{ delay, direction }`: every chunk is held `delay` ms in the given direction(s) (default
 *   both, so a round trip grows by 2 × delay), order preserved.
 * - `blackhole`: connections stay open, bytes are held back and nothing arrives; clients time
 *   out. Held bytes are delivered when the mode changes back (like TCP retransmission after a
 *   healed partition), which keeps the RESP stream consistent.
 * - `reset`: existing connections are reset (RST) and new ones are reset on accept.
 */
export type FaultMode =
  | "pass"
  | "blackhole"
  | "reset"
  | { delay: number; direction?: DelayDirection };

/** Where a {@link FaultProxy} forwards to; `host` defaults to the loopback address. */
export interface FaultTarget {
  host?: string;
  port: number;
}

interface Chunk {
  at: number;
  data: Buffer;
}

/** One direction of a proxied connection: chunks queued, delayed or held as the mode says. */
class Pipe {
  private queue: Chunk[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly delayFor: () => number | "hold",
  ) {}

  push(data: Buffer): void {
    this.queue.push({ at: Date.now(), data });
    this.pump();
  }

  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      if (this.to.destroyed) {
        this.queue = [];
        return;
      }
      const delay = this.delayFor();
      if (delay === "hold") return;
      const head = this.queue[0]!;
      const wait = head.at + delay - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      this.to.write(head.data);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

interface Connection {
  client: Socket;
  upstream: Socket;
  pipes: Pipe[];
}

/** A TCP proxy in front of one Redis node whose behaviour can be switched at runtime. */
export class FaultProxy implements Closeable {
  readonly host = LOOPBACK;
  readonly target: Required<FaultTarget>;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private _mode: FaultMode = "pass";
  private _port = 0;

  private constructor(target: Required<FaultTarget>) {
    this.target = target;
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on a free loopback port and forwards to `target`. */
  static async start(target: FaultTarget, mode: FaultMode = "pass"): Promise<FaultProxy> {
    const proxy = new FaultProxy({ host: target.host ?? LOOPBACK, port: target.port });
    proxy._mode = mode;
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen({ port: 0, host: LOOPBACK }, () => {
        proxy.server.off("error", reject);
        resolve();
      });
    });
    const address = proxy.server.address();
    proxy._port = typeof address === "object" && address ? address.port : 0;
    trackResource(proxy);
    return proxy;
  }

  /** The loopback port clients connect to. */
  get port(): number {
    return this._port;
  }

  /** `redis://127.0.0.1:<port>` of the proxy. */
  get url(): string {
    return `redis://${this.host}:${this._port}`;
  }

  /** The current mode. */
  get mode(): FaultMode {
    return this._mode;
  }

  /** Number of client connections currently open through the proxy. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Switches the mode; it applies to open connections and to new ones. */
  setMode(mode: FaultMode): void {
    this._mode = mode;
    if (mode === "reset") {
      for (const conn of [...this.connections]) this.drop(conn, true);
      return;
    }
    for (const conn of this.connections) for (const pipe of conn.pipes) pipe.pump();
  }

  /** Let bytes flow again; bytes held by `blackhole` or a delay are delivered now. */
  pass(): void {
    this.setMode("pass");
  }

  /** Hold every chunk `ms` in `direction` (both by default). */
  delay(ms: number, direction: DelayDirection = "both"): void {
    this.setMode({ delay: ms, direction });
  }

  /** Keep connections open but deliver nothing: requests wait unanswered until `pass()`. */
  blackhole(): void {
    this.setMode("blackhole");
  }

  /** Reset every open connection and each new one: requests fail at once. */
  reset(): void {
    this.setMode("reset");
  }

  /** Drop every connection and stop listening. */
  async close(): Promise<void> {
    for (const conn of [...this.connections]) this.drop(conn, false);
    if (this.server.listening) {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
    untrackResource(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private delayFor(direction: "toServer" | "toClient"): number | "hold" {
    const mode = this._mode;
    if (mode === "pass" || mode === "reset") return 0;
    if (mode === "blackhole") return "hold";
    const applies = !mode.direction || mode.direction === "both" || mode.direction === direction;
    return applies ? Math.max(0, mode.delay) : 0;
  }

  private accept(client: Socket): void {
    if (this._mode === "reset") {
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = connect({ host: this.target.host, port: this.target.port });
    upstream.setNoDelay(true);
    const conn: Connection = {
      client,
      upstream,
      pipes: [
        new Pipe(upstream, () => this.delayFor("toServer")),
        new Pipe(client, () => this.delayFor("toClient")),
      ],
    };
    this.connections.add(conn);
    const [toServer, toClient] = conn.pipes as [Pipe, Pipe];
    client.on("data", (data: Buffer) => toServer.push(data));
    upstream.on("data", (data: Buffer) => toClient.push(data));
    const onEnd = () => this.drop(conn, false);
    client.on("error", onEnd);
    upstream.on("error", onEnd);
    client.on("close", onEnd);
    upstream.on("close", onEnd);
  }

  private drop(conn: Connection, reset: boolean): void {
    if (!this.connections.delete(conn)) return;
    for (const pipe of conn.pipes) pipe.dispose();
    conn.client.on("error", () => {});
    conn.upstream.on("error", () => {});
    if (reset && !conn.client.destroyed) conn.client.resetAndDestroy();
    else conn.client.destroy();
    conn.upstream.destroy();
  }
}

/** Starts a `FaultProxy` in front of `target`. */
export function startFaultProxy(
  target: FaultTarget,
  mode: FaultMode = "pass",
): Promise<FaultProxy> {
  return FaultProxy.start(target, mode);
}
