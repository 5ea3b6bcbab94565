import { connect, type Socket } from "node:net";

/** A RESP2 reply; error replies are `Error`s. */
export type Reply = string | number | null | Error | Reply[];

/**
 * One raw RESP2 connection to a Redis server, with no Redis client at all: `call()` sends a
 * command and resolves with its reply, or rejects with the server's error reply. A dropped
 * connection fails the calls waiting on it and is replaced on the next call.
 */
export class RespConnection {
  #socket: Socket | undefined;
  #buffer = Buffer.alloc(0);
  #waiting: ((reply: Reply) => void)[] = [];

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** Send one command; resolves with the reply, rejects with an error reply. */
  call(parts: readonly (string | number)[]): Promise<Reply> {
    const socket = this.#connection();
    return new Promise((resolve, reject) => {
      this.#waiting.push((reply) => (reply instanceof Error ? reject(reply) : resolve(reply)));
      const encoded = parts.map((part) => {
        const bytes = Buffer.from(String(part));
        return `$${bytes.length}\r\n${bytes.toString("latin1")}\r\n`;
      });
      socket.write(Buffer.from(`*${parts.length}\r\n${encoded.join("")}`, "latin1"));
    });
  }

  /** Close the connection once the replies already asked for have arrived. */
  async quit(): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
    });
  }

  /** The open connection, or a new one. */
  #connection(): Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.#onData(chunk));
    socket.on("error", () => {}); // every waiting call is failed by "close"
    socket.on("close", () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#buffer = Buffer.alloc(0);
      for (const answer of this.#waiting.splice(0)) answer(new Error("connection closed"));
    });
    this.#socket = socket;
    return socket;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const parsed = parse(this.#buffer, 0);
      if (!parsed) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      this.#waiting.shift()?.(parsed.value);
    }
  }
}

/** Parse one RESP2 reply at `offset`, or return undefined if more bytes are needed. */
function parse(buffer: Buffer, offset: number): { value: Reply; end: number } | undefined {
  const lineEnd = buffer.indexOf("\r\n", offset);
  if (lineEnd < 0) return undefined;
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (String.fromCharCode(buffer[offset] as number)) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new Error(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP type byte ${buffer[offset]}`);
  }
}
