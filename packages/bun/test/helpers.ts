import { type RedisNode, respCall } from "@redlock/test-suite/redis";
import { RedisClient, type RedisOptions } from "bun";

const opened: RedisClient[] = [];

/** A Bun client for `url`, closed by {@link closeClients}. */
export function bunClient(url: string, options?: RedisOptions): RedisClient {
  const client = new RedisClient(url, options);
  opened.push(client);
  return client;
}

/** Close every client made by {@link bunClient} so far. */
export function closeClients(): void {
  for (const client of opened.splice(0)) client.close();
}

/** The connections `node` has open, besides the one asking. */
export async function connectionCount(node: RedisNode): Promise<number> {
  const list = String(await respCall(node, "CLIENT", "LIST"));
  return list
    .split("\n")
    .filter((line) => line.includes(" fd=") && !line.includes(" cmd=client|list")).length;
}

/** How many subscribers `channel` has on `node`. */
export async function subscribers(node: RedisNode, channel: string): Promise<number> {
  const reply = (await respCall(node, "PUBSUB", "NUMSUB", channel)) as [string, number];
  return reply[1];
}

/**
 * Resolves once `check` holds: for server-side state that no client event reports (a connection
 * the server has dropped). Rejects after `ms`, a hang guard.
 */
export async function until(
  check: () => Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: still not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A promise and the function that resolves it, for waiting on a callback. */
export function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}
