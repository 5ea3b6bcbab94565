/**
 * Lua shared by the semaphore and read-write lock scripts: `key` is KEYS[1], and when it holds
 * another type than `type` (a lock's string, another primitive's key), the script replies
 * `{ 0, its PTTL }`: held by someone else, for that long.
 */
export function guardKeyType(type: "zset" | "hash"): string {
  return `local key = KEYS[1]
local kind = redis.call("TYPE", key)["ok"]
if kind ~= "${type}" and kind ~= "none" then
  local left = redis.call("PTTL", key)
  if left == 0 then left = 1 elseif left < 0 then left = 0 end
  return { 0, left }
end
`;
}

/** Lua: `now`, the server's time in milliseconds (`TIME`), which expiries are scored with. */
export const SERVER_NOW = `local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;
