/**
 * The oracle: a separate redis-server that is never faulted and holds one counter per resource.
 * A section reads the counter, sleeps, and writes it plus one (GET, work, SET). Two sections
 * that overlap therefore lose an update, which gives a second detector besides the intervals.
 *
 * With fencing on, both accesses carry the lock's fencing token and go through a script that
 * remembers the highest token seen and rejects lower ones. The read is fenced as well as the
 * write: if only writes were fenced, a stale holder that read before a newer holder and wrote
 * before it would still lose the newer holder's update.
 */

/** The counter's key for a resource. */
export function counterKey(resource: string): string {
  return `counter:${resource}`;
}

/** The key holding the highest fencing token seen for a resource. */
export function seenKey(resource: string): string {
  return `counter:${resource}:seen`;
}

/**
 * KEYS[1] counter, KEYS[2] highest token seen; ARGV[1] token.
 * Returns { 1, counter } and raises the seen token, or { 0, seen } when the token is stale.
 */
export const FENCED_READ = `local token = tonumber(ARGV[1])
local seen = tonumber(redis.call("GET", KEYS[2]) or "0")
if token < seen then return { 0, seen } end
if token > seen then redis.call("SET", KEYS[2], ARGV[1]) end
return { 1, tonumber(redis.call("GET", KEYS[1]) or "0") }
`;

/**
 * KEYS[1] counter, KEYS[2] highest token seen; ARGV[1] token, ARGV[2] new counter value.
 * Returns 1 after writing, or 0 when the token is stale (nothing written).
 */
export const FENCED_WRITE = `local token = tonumber(ARGV[1])
local seen = tonumber(redis.call("GET", KEYS[2]) or "0")
if token < seen then return 0 end
if token > seen then redis.call("SET", KEYS[2], ARGV[1]) end
redis.call("SET", KEYS[1], ARGV[2])
return 1
`;
