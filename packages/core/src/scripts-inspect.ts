/**
 * Verify that every key holds one lock value, and report the smallest remaining TTL: what
 * `adopt()` needs to hand out a `Lock` for a value obtained elsewhere. Writes nothing.
 *
 * KEYS[1..n]  the lock's resource keys
 * ARGV[1]     the lock value
 *
 * Returns { 1, the smallest PTTL in ms } when every key holds ARGV[1] with a TTL;
 * { 0, the holder's PTTL (0 if unknown) } when a key holds something else;
 * { -1, 0 } when a key is missing (the lock expired or was released here).
 */
export const ADOPT_SCRIPT = `local least = -1
for i, key in ipairs(KEYS) do
  local current = redis.pcall("GET", key)
  if not current then return { -1, 0 } end
  local ttl = redis.call("PTTL", key)
  if current ~= ARGV[1] or ttl < 0 then
    if ttl < 0 then ttl = 0 end
    return { 0, ttl }
  end
  if least < 0 or ttl < least then least = ttl end
end
return { 1, least }
`;

/**
 * Report what each key holds, without revealing any value: for `inspect()`. Writes nothing.
 *
 * KEYS[1..n]  resource keys
 * ARGV[1]     a lock value to recognize, or "" for none
 *
 * Returns one { kind, ttl, mine } per key: kind 0 when the key is absent, 1 when it holds a
 * lock value (a string), 2 when it holds another type (a semaphore's sorted set, a read-write
 * lock's hash, or anything else); ttl is its PTTL in ms (-1 without expiry, 0 when absent); mine
 * is 1 when it holds ARGV[1]: as the lock value, as a semaphore permit (`<value>:1`) or as a read
 * or write hold (`r:<value>`, `w:<value>`).
 */
export const INSPECT_SCRIPT = `local out = {}
for i, key in ipairs(KEYS) do
  local kind = redis.call("TYPE", key)["ok"]
  if kind == "none" then
    out[i] = { 0, 0, 0 }
  else
    local ttl = redis.call("PTTL", key)
    if kind == "string" then
      local mine = 0
      if ARGV[1] ~= "" and redis.call("GET", key) == ARGV[1] then mine = 1 end
      out[i] = { 1, ttl, mine }
    else
      local mine = 0
      if ARGV[1] ~= "" then
        if kind == "zset" and redis.call("ZSCORE", key, ARGV[1] .. ":1") then mine = 1 end
        if kind == "hash" and (redis.call("HEXISTS", key, "r:" .. ARGV[1]) == 1 or
            redis.call("HEXISTS", key, "w:" .. ARGV[1]) == 1) then
          mine = 1
        end
      end
      out[i] = { 2, ttl, mine }
    end
  end
end
return out
`;
