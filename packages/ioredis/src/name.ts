/** The connection options of an ioredis `Redis` client that a runner name is made from. */
interface RedisConnection {
  host?: unknown;
  port?: unknown;
  path?: unknown;
  tls?: unknown;
  name?: unknown;
  sentinels?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

function address(host: unknown, port: unknown, defaultHost: string): string {
  const name = typeof host === "string" && host ? host : defaultHost;
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  const number = typeof port === "number" || typeof port === "string" ? port : 6379;
  return `${bracketed}:${number}`;
}

/** `host:port` of one cluster startup node given as a port, a URL, `host:port` or an object. */
function startupAddress(node: unknown): string {
  if (typeof node === "number") return address(undefined, node, "127.0.0.1");
  if (isObject(node)) return address(node.host, node.port, "127.0.0.1");
  if (typeof node !== "string") return "unknown";
  if (/^\d+$/.test(node)) return address(undefined, Number(node), "127.0.0.1");
  try {
    // Parsed so that a `user:password@` part never reaches the name.
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(node) ? node : `redis://${node}`);
    return address(url.hostname, url.port || 6379, "127.0.0.1");
  } catch {
    return "unknown";
  }
}

/**
 * A name for an ioredis client built from its connection options only (never credentials):
 * `redis://host:port`, `rediss://…` with TLS, `unix:///path`,
 * `redis-sentinel://host:port,…/master` or `redis-cluster://host:port,…`. It names the server,
 * not the database (`db`): the databases of one server fail together, so core refuses two
 * runners for one server whatever their databases.
 */
export function clientName(client: object): string {
  const { options, isCluster, startupNodes } = client as {
    options?: unknown;
    isCluster?: unknown;
    startupNodes?: unknown;
  };
  if (isCluster === true) {
    const nodes = Array.isArray(startupNodes) ? startupNodes.map(startupAddress) : [];
    return `redis-cluster://${nodes.join(",")}`;
  }
  const o: RedisConnection = isObject(options) ? options : {};
  if (Array.isArray(o.sentinels) && o.sentinels.length > 0) {
    const sentinels = o.sentinels.map((s: unknown) =>
      isObject(s) ? address(s.host, s.port ?? 26379, "localhost") : "unknown",
    );
    return `redis-sentinel://${sentinels.join(",")}/${String(o.name ?? "")}`;
  }
  if (typeof o.path === "string" && o.path) return `unix://${o.path}`;
  return `${o.tls ? "rediss" : "redis"}://${address(o.host, o.port, "localhost")}`;
}
