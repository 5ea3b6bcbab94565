import { InvalidArgumentError } from "@redlock/core";

/**
 * A credential-free name of the server behind a Bun `RedisClient` URL: `redis://host:port`,
 * `rediss://host:port` for TLS (`rediss:`, `valkeys:`, `redis+tls:`), or `unix:///path` for a
 * socket (`redis+unix:`, `redis+tls+unix:`). The user, the password and the database number are
 * left out: the databases of one server fail together, so core refuses two runners for one
 * server whatever their databases.
 *
 * @throws {InvalidArgumentError} `url` is not a string that parses as a URL
 */
export function urlName(url: unknown): string {
  const parsed = typeof url === "string" ? parse(url) : undefined;
  if (!parsed) {
    throw new InvalidArgumentError(
      "INVALID_SETTING",
      "options.url",
      "expected the URL the client was created with, such as redis://10.0.0.1:6379.",
    );
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme.includes("unix")) return `unix://${decodeURIComponent(parsed.pathname)}`;
  const tls = scheme.includes("tls") || scheme === "rediss" || scheme === "valkeys";
  return `${tls ? "rediss" : "redis"}://${parsed.hostname || "localhost"}:${parsed.port || 6379}`;
}

/** `url` parsed, or `undefined`; only its scheme, host, port and path are ever read. */
function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

const fallbackNames = new WeakMap<object, string>();
let fallbackCount = 0;

/**
 * The name of a client given without `url` or `name`: Bun's `RedisClient` does not expose the
 * address it connects to, so each client gets `bun-redis#<n>`, the same for every runner over it
 * (core then refuses one client counted twice, but cannot tell two clients of one server apart).
 */
export function fallbackName(client: object): string {
  let name = fallbackNames.get(client);
  if (name === undefined) {
    name = `bun-redis#${++fallbackCount}`;
    fallbackNames.set(client, name);
  }
  return name;
}
