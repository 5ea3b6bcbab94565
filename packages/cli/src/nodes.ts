import { Redlock } from "@redlock/ioredis";
import { Redis } from "ioredis";

/** A `Redlock` and the clients it uses, which `redlock` closes itself. */
export interface Nodes {
  readonly redlock: Redlock;
  readonly clients: readonly Redis[];
}

/**
 * A `Redlock` over one ioredis client per URL. ioredis parses the URL (`redis://` or `rediss://`,
 * user, password, database). Connection errors are not printed by ioredis: they reach `redlock`
 * as node errors, named after host and port, never with credentials.
 * @param urls one URL per independent Redis node
 * @throws {InvalidArgumentError} two URLs for the same server (`DUPLICATE_NODE`)
 */
export function connect(urls: readonly string[]): Nodes {
  const clients = urls.map((url) => {
    const client = new Redis(url);
    client.on("error", () => {});
    return client;
  });
  try {
    return { redlock: new Redlock(clients), clients };
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw error;
  }
}

/**
 * Finish with the nodes: wait for the clean-up of failed attempts (so that a lost race leaves no
 * key behind), then close every connection at once. Nothing is pending by then, so nothing is
 * lost; `quit()` would wait, without end, for a client that is reconnecting to a node that
 * refuses connections to give up first.
 */
export async function disconnect({ redlock, clients }: Nodes): Promise<void> {
  try {
    await redlock.idle();
  } finally {
    // Closing a client also closes its release-announcement connection.
    for (const client of clients) client.disconnect();
  }
}
