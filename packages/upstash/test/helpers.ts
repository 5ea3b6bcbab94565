import {
  type RedisNode,
  type RespValue,
  respCall,
  startRedisNodes,
  startUpstashBridge,
  type UpstashBridge,
} from "@redlock/testbed";
import { Redis as Upstash139 } from "@upstash/redis";
import { Redis as Upstash134 } from "@upstash/redis-1.34";
import type { UpstashClient } from "../src";

/** The options the tests pass to a client; anything else stays at the client's defaults. */
export interface ClientConfig {
  url: string;
  token: string;
  retry?: { retries: number; backoff: (retryCount: number) => number };
  signal?: AbortSignal;
  enableAutoPipelining?: boolean;
}

export type ClientFactory = (config: ClientConfig) => UpstashClient;

/** Every `@upstash/redis` version the peer range declares, oldest and newest. */
export const drivers: ReadonlyArray<readonly [string, ClientFactory]> = [
  ["@upstash/redis 1.39", (config) => new Upstash139(config)],
  ["@upstash/redis 1.34", (config) => new Upstash134(config)],
];

/** One redis-server per Upstash "database", each behind its own REST bridge. */
export interface Database {
  readonly node: RedisNode;
  readonly bridge: UpstashBridge;
}

export async function startDatabases(count: number): Promise<Database[]> {
  const nodes = await startRedisNodes(count);
  return Promise.all(
    nodes.map(async (node) => ({ node, bridge: await startUpstashBridge({ redisUrl: node.url }) })),
  );
}

/** Clear data, scripts, faults and the request log between tests. */
export async function resetDatabases(databases: readonly Database[]): Promise<void> {
  await Promise.all(
    databases.map(async ({ node, bridge }) => {
      bridge.clearFaults();
      await call(node, "FLUSHALL");
      await call(node, "SCRIPT", "FLUSH");
      bridge.requests.length = 0;
    }),
  );
}

/** A client for `database` with default options unless overridden. */
export function clientFor(
  make: ClientFactory,
  { bridge }: Database,
  overrides: Partial<ClientConfig> = {},
): UpstashClient {
  return make({ url: bridge.url, token: bridge.token, ...overrides });
}

/** One command on the node itself, past the bridge. */
export function call(node: RedisNode, ...args: (string | number)[]): Promise<RespValue> {
  return respCall({ host: node.host, port: node.port }, ...args);
}

/** The first word of each command the bridge received, request by request. */
export function commandsSeen(bridge: UpstashBridge): string[][] {
  return bridge.requests.map(({ body }) => {
    const commands = Array.isArray(body) && Array.isArray(body[0]) ? body : [body];
    return (commands as unknown[][]).map((command) => String(command[0]).toLowerCase());
  });
}

/** Every string reachable from `value` (messages, stacks, causes, nested fields). */
export function textsOf(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === "string") return [value];
  if (typeof value !== "object" || value === null || seen.has(value)) return [];
  seen.add(value);
  const texts: string[] = [];
  if (value instanceof Error) {
    texts.push(value.message, value.stack ?? "", ...textsOf(value.cause, seen));
  }
  for (const key of Object.getOwnPropertyNames(value)) {
    texts.push(...textsOf((value as Record<string, unknown>)[key], seen));
  }
  return texts;
}

/** The rejection of `promise`, failing the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `result` once every node has answered the operation that produced it (not just a quorum). */
export async function allVotes<T extends { attempts: ReadonlyArray<Promise<unknown>> }>(
  result: T,
): Promise<T> {
  await Promise.all(result.attempts);
  return result;
}

/** Polls `check` until it holds or `ms` pass; resolves with its last answer. */
export async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
