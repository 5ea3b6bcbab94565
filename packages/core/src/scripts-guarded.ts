/**
 * Acquire with fencing-counter reads and the restart guard: the variant `acquire()` uses when
 * `fencing` is asked for or the instance has a `restartGuard`. All or nothing per node, and
 * idempotent for the caller's own value, like the plain acquire script.
 *
 * KEYS[1..n]      the lock's resource keys (n = ARGV[3])
 * KEYS[n+1..2n]   their fencing counters, present when ARGV[4] == "1"
 * KEYS[#KEYS]     the node's boot marker, present when ARGV[5] > 0
 * ARGV[1]         the lock value
 * ARGV[2]         the duration in milliseconds (PX)
 * ARGV[3]         n, the number of resource keys
 * ARGV[4]         "1" to read the fencing counters, "0" not to
 * ARGV[5]         the restart-guard period in ms, "0" for none
 *
 * Returns { 1, highest fencing counter among the keys (0 if none) } when granted;
 * { 0, the holder's remaining TTL in ms (0 if unknown) } when another lock holds a key;
 * { 2, ms left } when the node's boot marker is younger than the guard period: the node lost its
 * data (or is new) and must not grant anything until every lock it may have held has expired.
 */
export const ACQUIRE_GUARDED_SCRIPT = `local n = tonumber(ARGV[3])
local guard = tonumber(ARGV[5])
if guard > 0 then
  local marker = KEYS[#KEYS]
  local time = redis.call("TIME")
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local born = tonumber(redis.call("GET", marker))
  if not born then
    redis.call("SET", marker, now)
    born = now
  end
  if now - born < guard then return { 2, guard - (now - born) } end
end
for i = 1, n do
  local current = redis.pcall("GET", KEYS[i])
  if current and current ~= ARGV[1] then
    local ttl = redis.call("PTTL", KEYS[i])
    if ttl < 0 then ttl = 0 end
    return { 0, ttl }
  end
end
local highest = 0
for i = 1, n do
  redis.call("SET", KEYS[i], ARGV[1], "PX", ARGV[2])
  if ARGV[4] == "1" then
    local counter = tonumber(redis.call("GET", KEYS[n + i]) or "0") or 0
    if counter > highest then highest = counter end
  end
end
return { 1, highest }
`;

/**
 * Record a fencing token: raise every counter to at least ARGV[1]. Counters never expire and
 * never go down, so tokens survive lock expiry.
 *
 * KEYS[1..n]  the fencing counters of the lock's resources
 * ARGV[1]     the token
 *
 * Returns n.
 */
export const FENCE_SCRIPT = `local token = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local current = tonumber(redis.call("GET", key) or "0") or 0
  if current < token then redis.call("SET", key, ARGV[1]) end
end
return #KEYS
`;

/** The fencing counter's key for a lock key. */
export function fenceKey(key: string): string {
  return `${key}:fence`;
}
