import { createServer } from "node:net";

/** The address every node and proxy listens on. */
export const LOOPBACK = "127.0.0.1";

/** Asks the OS for a currently free loopback TCP port. The port is released before returning. */
export function getFreePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** True when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host: string = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * Finds a free port `p` such that `p + offset` is free too (Redis Cluster's default bus port is
 * `port + 10000`).
 */
export async function getFreePortPair(offset: number, host: string = LOOPBACK): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await getFreePort(host);
    if (port + offset > 65535) continue;
    if (await isPortFree(port + offset, host)) return port;
  }
  throw new Error(`Could not find a free port pair (offset ${offset}) on ${host}`);
}
