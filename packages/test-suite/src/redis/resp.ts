import { connect } from "node:net";

/** A decoded RESP2 reply. Errors are returned as `RespError` values inside arrays and thrown at top level. */
export type RespValue = string | number | null | RespError | RespValue[];

/** An error reply of the server, such as `NOSCRIPT No matching script`. */
export class RespError extends Error {
  override name = "RespError";
}

/** A command as a RESP array of bulk strings. */
function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses one reply starting at `offset`; returns undefined when the buffer is incomplete. */
function parseReply(buf: Buffer, offset: number): { value: RespValue; next: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString("utf8", offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, next: after };
    case "-":
      return { value: new RespError(line), next: after };
    case ":":
      return { value: Number(line), next: after };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString("utf8", after, after + len), next: after + len + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`Unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

/** Where {@link respCall} connects, and how. */
export interface RespCallOptions {
  host: string;
  port: number;
  /** Reject when no reply came within this many ms. Default 2000. */
  timeoutMs?: number;
  /** Sent with `AUTH` before the command when set. */
  password?: string;
  /** The ACL user of `password`; Redis' `default` user when absent. */
  username?: string;
}

/**
 * Sends one command on a fresh connection (after `AUTH` when a password is given) and resolves
 * with its reply. Used for health checks and administration, where a full client with
 * reconnect logic is undesirable.
 */
export function respCall(
  { host, port, timeoutMs = 2000, password, username }: RespCallOptions,
  ...args: (string | number)[]
): Promise<RespValue> {
  const auth = password === undefined ? [] : [["AUTH", ...(username ? [username] : []), password]];
  const commands = [...auth, args];
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const replies: RespValue[] = [];
    let settled = false;
    const socket = connect({ host, port });
    const finish = (err: Error | undefined, value?: RespValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`RESP ${String(args[0])} to ${host}:${port} timed out`)),
      timeoutMs,
    );
    socket.once("error", (err) => finish(err));
    socket.once("close", () =>
      finish(new Error(`Connection to ${host}:${port} closed before a reply`)),
    );
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        let parsed: ReturnType<typeof parseReply>;
        try {
          parsed = parseReply(buf, 0);
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (!parsed) return;
        buf = buf.subarray(parsed.next);
        if (parsed.value instanceof RespError) return finish(parsed.value);
        replies.push(parsed.value);
        if (replies.length === commands.length) return finish(undefined, parsed.value);
      }
    });
    socket.write(Buffer.concat(commands.map(encodeCommand)));
  });
}

/** Resolves true when the server answers PING with PONG within `timeoutMs`. */
export async function ping(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  try {
    return (await respCall({ host, port, timeoutMs }, "PING")) === "PONG";
  } catch {
    return false;
  }
}
