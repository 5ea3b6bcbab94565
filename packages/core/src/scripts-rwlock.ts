import type { LockScript } from "./script-runner";
import { guardKeyType, SERVER_NOW } from "./scripts-common";
import { sha1 } from "./sha1";

/**
 * Read-write lock scripts. A read-write lock on a resource lives in the resource's own key (the
 * key a lock on that resource would use), as a hash of holders, each field scored with the server
 * time (ms) at which it expires: `r:<value>` for a reader, `w:<value>` for the writer, and
 * `i:<id>` for a writer waiting for readers to leave. Expired fields are removed before anything
 * is decided, so a crashed holder frees the lock after its TTL; the key expires with its last
 * field. Locks and semaphores on the same resource see the hash as held, and this lock sees
 * their keys as held.
 *
 * Writers are preferred: while a writer waits (its `i:` field lives), new readers are refused, so
 * a steady stream of readers cannot starve it. A writer that gives up stops blocking readers when
 * its waiting field expires.
 */

/** Type check, server time, expired fields removed; `others` sums the live fields by kind. */
const PREAMBLE = `${guardKeyType("hash")}${SERVER_NOW}local fields = redis.call("HGETALL", key)
local first = { r = false, w = false, i = false }
for n = 1, #fields, 2 do
  local field, expires = fields[n], tonumber(fields[n + 1])
  if expires <= now then
    redis.call("HDEL", key, field)
  elseif field ~= "r:" .. ARGV[1] and field ~= "w:" .. ARGV[1] and field ~= "i:" .. (ARGV[3] or "") then
    local sort = string.sub(field, 1, 1)
    if not first[sort] or expires < first[sort] then first[sort] = expires end
  end
end
`;

/** Keep the key alive as long as its longest-lived field. */
const KEEP_KEY = `local last = 0
local all = redis.call("HVALS", key)
for n = 1, #all do
  local expires = tonumber(all[n])
  if expires > last then last = expires end
end
if last > 0 then redis.call("PEXPIREAT", key, last) end
`;

/**
 * Take a read hold: granted unless a writer holds or waits.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the duration in ms
 *
 * Returns { 1, 0 } when granted, { 0, ms until the writer's field expires } when not (or the
 * other key's TTL when a lock or a semaphore holds the resource).
 */
export const READ_ACQUIRE_SCRIPT = `${PREAMBLE}local blocker = first.w or first.i
if blocker then return { 0, blocker - now } end
redis.call("HSET", key, "r:" .. ARGV[1], now + tonumber(ARGV[2]))
${KEEP_KEY}return { 1, 0 }
`;

/**
 * Take the write hold: granted when no other writer holds it and no reader does. Refused because
 * of readers, it records that a writer waits (field `i:<ARGV[3]>`, for ARGV[4] ms), which keeps
 * new readers out; granted, it removes that field.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the duration in ms
 * ARGV[3]  the waiting writer's id (the same for every try of one acquisition)
 * ARGV[4]  how long the waiting field lives, in ms
 *
 * Returns { 1, 0 } when granted, { 0, ms until the earliest blocking hold expires } when not.
 */
export const WRITE_ACQUIRE_SCRIPT = `${PREAMBLE}if first.w then return { 0, first.w - now } end
if first.r then
  redis.call("HSET", key, "i:" .. ARGV[3], now + tonumber(ARGV[4]))
  ${KEEP_KEY.replaceAll("\n", "\n  ")}return { 0, first.r - now }
end
redis.call("HDEL", key, "i:" .. ARGV[3])
redis.call("HSET", key, "w:" .. ARGV[1], now + tonumber(ARGV[2]))
${KEEP_KEY}return { 1, 0 }
`;

/**
 * Extend a read or write hold to `duration` ms from now; never re-creates an expired one.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the new duration in ms
 * ARGV[3]  "r" or "w"
 *
 * Returns 1 when extended, -1 when the hold is gone, 0 when another kind of key is there.
 */
export const RW_EXTEND_SCRIPT = `local key = KEYS[1]
local kind = redis.call("TYPE", key)["ok"]
if kind == "none" then return -1 end
if kind ~= "hash" then return 0 end
${SERVER_NOW}local field = ARGV[3] .. ":" .. ARGV[1]
local expires = tonumber(redis.call("HGET", key, field))
if not expires or expires <= now then return -1 end
redis.call("HSET", key, field, now + tonumber(ARGV[2]))
${KEEP_KEY}return 1
`;

/**
 * Give back a read or write hold and announce it on `redlock:released:<key>`. Safe to repeat.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  "r" or "w"
 *
 * Returns { 1, 0, heard } when a hold was given back, { 0, 1, 0 } when none was held,
 * { 0, 0, 0 } when another kind of key is there.
 */
export const RW_RELEASE_SCRIPT = `local key = KEYS[1]
local kind = redis.call("TYPE", key)["ok"]
if kind == "none" then return { 0, 1, 0 } end
if kind ~= "hash" then return { 0, 0, 0 } end
if redis.call("HDEL", key, ARGV[2] .. ":" .. ARGV[1]) == 0 then return { 0, 1, 0 } end
if redis.call("HLEN", key) > 0 then
  ${KEEP_KEY.replaceAll("\n", "\n  ")}end
return { 1, 0, redis.call("PUBLISH", "redlock:released:" .. key, "") }
`;

const script = (name: LockScript["name"], source: string): LockScript => ({
  name,
  source,
  sha1: sha1(source),
});

/** The read-write lock scripts, hashed once. @internal */
export const rwScripts = {
  read: script("acquire", READ_ACQUIRE_SCRIPT),
  write: script("acquire", WRITE_ACQUIRE_SCRIPT),
  extend: script("extend", RW_EXTEND_SCRIPT),
  release: script("release", RW_RELEASE_SCRIPT),
} as const;
