import { WAITING_LINE } from "./scripts-common";
/**
 * Every key this library writes besides lock keys starts with this namespace, right after
 * `keyPrefix`: the restart guard's marker (`<keyPrefix>__redlock__:boot`) and the fencing
 * counters (`<keyPrefix>__redlock__:fence:<resource>`). Resource names may not contain it, so
 * no lock key can be one of these keys.
 */
export const RESERVED_NAMESPACE = "__redlock__:";

/** The restart guard's marker key before `keyPrefix`, unless `markerKey` names another. */
export const DEFAULT_MARKER_KEY = `${RESERVED_NAMESPACE}boot`;

/**
 * Acquire with fencing-counter reads and the restart guard: the variant `acquire()` uses when
 * `fencing` is asked for or the instance has a `restartGuard`. All or nothing per node, and
 * idempotent for the caller's own value, like the plain acquire script.
 *
 * KEYS[1..n]      the lock's resource keys (n = ARGV[3])
 * KEYS[n+1..2n]   their fencing counters, present when ARGV[4] == "1"
 * KEYS[...]       the node's boot marker, present when ARGV[5] > 0, right after the counters
 * KEYS[ARGV[6]..] the waiting lines of the n keys, when ARGV[6] > 0
 * ARGV[1]         the lock value
 * ARGV[2]         the duration in milliseconds (PX)
 * ARGV[3]         n, the number of resource keys
 * ARGV[4]         "1" to read the fencing counters, "0" not to
 * ARGV[5]         the restart-guard period in ms, "0" for none
 * ARGV[6..11]     optional: index of the first waiting line (0: none), the caller's waiter id
 *                 ("" when not in line), ms it stays in line, ms it needs to come, "1" when
 *                 more of its waiters wait, ms its process has waited (see the plain acquire
 *                 script)
 *
 * Returns { 1, highest fencing counter among the keys (0 if none) } when granted;
 * { 0, the holder's remaining TTL in ms (0 if unknown) } when another lock holds a key, or
 * { 0, ms left of the turn } when a release gave the turn on a free key to another waiter;
 * { 2, ms left } when the node's boot marker is younger than the guard period: the node lost its
 * data (or is new) and must not grant anything until every lock it may have held has expired.
 *
 * The marker and the counters are reserved keys: each is absent or holds decimal digits with no
 * expiry. When one holds anything else (a lock value, say), the script writes nothing and
 * replies with an error starting with "REDLOCK_RESERVED_KEY", which counts as a failure of this
 * node.
 */
export const ACQUIRE_GUARDED_SCRIPT = `${WAITING_LINE}local n = tonumber(ARGV[3])
local guard = tonumber(ARGV[5])
local first = tonumber(ARGV[6]) or 0
local id = ARGV[7] or ""
local marker = n + 1
if ARGV[4] == "1" then marker = 2 * n + 1 end
local function reserved(key)
  local value = redis.pcall("GET", key)
  if value == false then return false end
  if type(value) == "string" and string.find(value, "^%d+$") and redis.call("PTTL", key) == -1 then
    return tonumber(value)
  end
  return nil
end
local function refuse(key, what)
  return redis.error_reply("REDLOCK_RESERVED_KEY " .. string.gsub(string.sub(key, 1, 200), "%c", "?") ..
    " is reserved for " .. what .. " but holds something else (a lock?); it was left as it is and nothing was written")
end
local born = false
if guard > 0 then
  born = reserved(KEYS[marker])
  if born == nil then return refuse(KEYS[marker], "the restart guard's marker") end
end
local highest = 0
if ARGV[4] == "1" then
  for i = 1, n do
    local counter = reserved(KEYS[n + i])
    if counter == nil then return refuse(KEYS[n + i], "a fencing counter") end
    if counter and counter > highest then highest = counter end
  end
end
if guard > 0 then
  local time = redis.call("TIME")
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if not born then
    redis.call("SET", KEYS[marker], now)
    born = now
  end
  if now - born < guard then return { 2, guard - (now - born) } end
end
for i = 1, n do
  local current = redis.pcall("GET", KEYS[i])
  if current and current ~= ARGV[1] then
    local ttl = redis.call("PTTL", KEYS[i])
    if ttl == 0 then ttl = 1 elseif ttl < 0 then ttl = 0 end
    return { 0, -line_join(first, n, id, ARGV[8], ARGV[9], ARGV[11] or 0, ttl) }
  end
end
if first > 0 and id ~= "*" then
  local left, seen = line_turn(first, n, id)
  if left > 0 then return { 0, -line_join(first, n, id, ARGV[8], ARGV[9], ARGV[11] or 0, left) } end
  if seen or id ~= "" then line_leave(first, n, id, ARGV[10], ARGV[8], ARGV[9]) end
end
for i = 1, n do
  redis.call("SET", KEYS[i], ARGV[1], "PX", ARGV[2])
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
 * Returns n. When a counter holds anything but decimal digits with no expiry (a lock value, say),
 * writes nothing and replies with an error starting with "REDLOCK_RESERVED_KEY".
 */
export const FENCE_SCRIPT = `local token = tonumber(ARGV[1])
local current = {}
for i, key in ipairs(KEYS) do
  local value = redis.pcall("GET", key)
  if value == false then
    current[i] = 0
  elseif type(value) == "string" and string.find(value, "^%d+$") and redis.call("PTTL", key) == -1 then
    current[i] = tonumber(value)
  else
    return redis.error_reply("REDLOCK_RESERVED_KEY " .. string.gsub(string.sub(key, 1, 200), "%c", "?") ..
      " is reserved for a fencing counter but holds something else (a lock?); it was left as it is and nothing was written")
  end
end
for i, key in ipairs(KEYS) do
  if current[i] < token then redis.call("SET", key, ARGV[1]) end
end
return #KEYS
`;

/**
 * The fencing counter's key for a resource: `<keyPrefix>__redlock__:fence:<resource>`. The
 * resource name comes last, so a `{hash tag}` in it puts the counter in the lock key's slot.
 */
export function fenceKey(resource: string, keyPrefix = ""): string {
  return `${keyPrefix}${RESERVED_NAMESPACE}fence:${resource}`;
}

/**
 * The waiting line's key for a lock key (`key` includes `keyPrefix`):
 * `<keyPrefix>__redlock__:line:{<key>}` when the key has no `{hash tag}`, and
 * `<keyPrefix>__redlock__:line:{<tag>}:<resource>` when it has one, so that on a cluster the line
 * always lives in the lock key's slot.
 */
/**
 * Does a key prefix that a client adds in front of every key keep each waiting line in its lock
 * key's cluster slot? Only when it is empty or holds a `{hash tag}` itself: both keys then hash
 * the same. A cluster runner whose prefix does not sets `waitingLines: false`.
 */
export function prefixKeepsSlot(prefix: string): boolean {
  const open = prefix.indexOf("{");
  return prefix === "" || (open >= 0 && prefix.indexOf("}", open + 1) > open + 1);
}

export function waitingLineKey(key: string, keyPrefix = ""): string {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  if (close > open + 1) {
    // The tag may sit in the prefix: the line then starts with the same prefix and tag.
    if (close < keyPrefix.length)
      return `${keyPrefix}${RESERVED_NAMESPACE}line:${key.slice(keyPrefix.length)}`;
    return `${keyPrefix}${RESERVED_NAMESPACE}line:{${key.slice(open + 1, close)}}:${key.slice(keyPrefix.length)}`;
  }
  return `${keyPrefix}${RESERVED_NAMESPACE}line:{${key}}`;
}
