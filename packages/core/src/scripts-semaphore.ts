import type { LockScript } from "./script-runner";
import { guardKeyType, SERVER_NOW } from "./scripts-common";
import { sha1 } from "./sha1";

/**
 * Semaphore scripts. A semaphore on a resource lives in the resource's own key (the key a lock on
 * that resource would use), as a sorted set: one member `<value>:<i>` per permit a holder took,
 * scored with the server time (ms) at which that permit expires. Expired permits are removed
 * before anything is counted, so a crashed holder's permits free themselves after its TTL. The
 * key itself expires with its last permit. A lock on the same resource and a semaphore exclude
 * each other: each finds the other's key of the wrong type and treats it as held.
 */

/** Server time in ms, and the key's type check shared by the scripts. */
const PREAMBLE = `${guardKeyType("zset")}${SERVER_NOW}redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
`;

/** Keep the key alive as long as its longest-lived permit. */
const KEEP_KEY = `local last = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
if last[2] then redis.call("PEXPIREAT", key, tonumber(last[2])) end
`;

/**
 * Take `permits` permits of a semaphore of `limit`, all or nothing.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the duration in ms
 * ARGV[3]  the limit
 * ARGV[4]  the number of permits to take
 *
 * Returns { 1, 0 } when granted (a holder that already has its permits gets them refreshed, so a
 * write retried after a lost reply is safe); { 0, ms until the earliest permit expires } when too
 * few permits are free, or { 0, the lock's TTL } when a lock holds the resource.
 */
export const SEMAPHORE_ACQUIRE_SCRIPT = `${PREAMBLE}local value = ARGV[1]
local permits = tonumber(ARGV[4])
if not redis.call("ZSCORE", key, value .. ":1") then
  if redis.call("ZCARD", key) + permits > tonumber(ARGV[3]) then
    local first = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    local wait = 0
    if first[2] then wait = tonumber(first[2]) - now end
    return { 0, wait }
  end
end
local expires = now + tonumber(ARGV[2])
for i = 1, permits do redis.call("ZADD", key, expires, value .. ":" .. i) end
${KEEP_KEY}return { 1, 0 }
`;

/**
 * Extend a holder's permits to `duration` ms from now. Never re-creates expired permits.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the new duration in ms
 * ARGV[3]  the number of permits the holder took
 *
 * Returns 1 when extended, -1 when the permits are gone (expired or released), 0 when a lock
 * holds the resource.
 */
export const SEMAPHORE_EXTEND_SCRIPT = `${PREAMBLE.replace("return { 0, left }", "return 0")}local value = ARGV[1]
if not redis.call("ZSCORE", key, value .. ":1") then return -1 end
local expires = now + tonumber(ARGV[2])
for i = 1, tonumber(ARGV[3]) do redis.call("ZADD", key, "XX", expires, value .. ":" .. i) end
${KEEP_KEY}return 1
`;

/**
 * Give back a holder's permits, and announce it on `redlock:released:<key>` so waiters try at
 * once. Safe to repeat.
 *
 * KEYS[1]  the resource key
 * ARGV[1]  the holder's value
 * ARGV[2]  the number of permits the holder took
 *
 * Returns { deleted, missing, heard } like the lock's release: { 1, 0, n } when permits were
 * given back, { 0, 1, 0 } when none were held (expired or released already), { 0, 0, 0 } when a
 * lock holds the resource.
 */
export const SEMAPHORE_RELEASE_SCRIPT = `local key = KEYS[1]
local kind = redis.call("TYPE", key)["ok"]
if kind ~= "zset" then
  if kind == "none" then return { 0, 1, 0 } end
  return { 0, 0, 0 }
end
${SERVER_NOW}redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
local members = {}
for i = 1, tonumber(ARGV[2]) do members[i] = ARGV[1] .. ":" .. i end
local removed = redis.call("ZREM", key, unpack(members))
if removed == 0 then return { 0, 1, 0 } end
local heard = redis.call("PUBLISH", "redlock:released:" .. key, "")
return { 1, 0, heard }
`;

/** The semaphore scripts, hashed once. @internal */
export const semaphoreScripts: {
  readonly acquire: LockScript;
  readonly extend: LockScript;
  readonly release: LockScript;
} = {
  acquire: {
    name: "acquire",
    source: SEMAPHORE_ACQUIRE_SCRIPT,
    sha1: sha1(SEMAPHORE_ACQUIRE_SCRIPT),
  },
  extend: { name: "extend", source: SEMAPHORE_EXTEND_SCRIPT, sha1: sha1(SEMAPHORE_EXTEND_SCRIPT) },
  release: {
    name: "release",
    source: SEMAPHORE_RELEASE_SCRIPT,
    sha1: sha1(SEMAPHORE_RELEASE_SCRIPT),
  },
};
