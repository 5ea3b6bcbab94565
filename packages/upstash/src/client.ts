import { REDACTED } from "./redact";

/**
 * The part of an `@upstash/redis` client the runner uses. Any `Redis` instance from
 * `@upstash/redis` 1.34 or later fits, with its default options (auto-pipelining, automatic
 * deserialization, retries) left as they are. Where the client also has `subscribe()` (1.39),
 * the runner listens for releases with it (see {@link createUpstashRunner}).
 */
export interface UpstashClient {
  evalsha(sha1: string, keys: string[], args: unknown[]): Promise<unknown>;
  eval(script: string, keys: string[], args: unknown[]): Promise<unknown>;
  /**
   * Never called. Every `@upstash/redis` client has it and ioredis clients do not, although
   * they also have `evalsha` and `eval` (with another signature).
   */
  createScript(script: string): unknown;
}

/** What an `@upstash/redis` client keeps about its endpoint; read only to name it and to redact. */
export interface HttpDetails {
  readonly client?: { readonly baseUrl?: unknown; readonly headers?: Record<string, unknown> };
}

/** Also used to validate the clients given to `Redlock`. @internal */
export const CLIENT_HINT = "expected an @upstash/redis client (new Redis({ url, token })).";

/** Does `value` look like an `@upstash/redis` client? @internal */
export function isUpstashClient(value: unknown): value is UpstashClient {
  const candidate = value as Partial<UpstashClient> | null | undefined;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.evalsha === "function" &&
    typeof candidate.eval === "function" &&
    typeof candidate.createScript === "function"
  );
}

/**
 * `upstash:` and the REST URL without credentials: its origin and path (two databases behind one
 * proxy differ by path), never user info, query, fragment or the token.
 */
export function defaultName(baseUrl: unknown, token: string | undefined): string {
  if (typeof baseUrl === "string") {
    try {
      const url = new URL(baseUrl);
      const path = url.pathname
        .replace(/\/+$/, "")
        .split("/")
        .map((segment) => (token && segment === token ? REDACTED : segment))
        .join("/");
      return `upstash:${url.origin}${path}`;
    } catch {}
  }
  return "upstash";
}

export function tokenOf(headers: Record<string, unknown> | undefined): string | undefined {
  const value = headers?.authorization ?? headers?.Authorization;
  if (typeof value !== "string") return undefined;
  return value.replace(/^Bearer\s+/i, "") || undefined;
}
