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

/**
 * Lua for the waiting line of a lock key: a hash beside it (see `waitingLineKey`) where each
 * process whose waiters listen for releases has a field `<waiter id>` =
 * `"<ticket> <deadline> <window>"`: when it began waiting (the server's time in µs less the
 * waiting time the process reports, so every node orders the same processes the same way), the
 * time in ms after which it counts as gone unless it tries again, and how many ms it needs to come
 * after a release. The field `~` = `"<waiter id> <until>"` is the turn a release gave to the
 * longest waiter: until then (ms), only that process may take the free key. Nothing here ever
 * makes a key held longer or by two locks: a turn only refuses others, for at most its window.
 *
 * A waiter id stands for a process (one `Redlock` instance): any of its waiters may use its turn.
 * The id "" keeps no place and respects turns (single tries); "*" keeps no place and ignores
 * turns (waiters that cannot hear releases, and so would let a turn run out unused).
 * `line_join(first, count, id, checkin, window, waited, left)` puts `id` in line on
 * KEYS[first..] and returns `-left`; `line_turn(first, count, id)` returns the ms left of a turn
 * given to someone else (0 if none) and whether any turn was seen; `line_leave(first, count, id,
 * stay, checkin, window)` takes `id` out of line once it holds the keys, or to the end of the line
 * when `stay` is "1" (more of its waiters wait); its turn lasts until it releases, so a grant it
 * undoes after losing the race on other nodes keeps it. `line_next(key, undoing)` gives the turn
 * to the longest waiter still in line after a release, unless `undoing` still has it. A turn takes
 * the waiter's place: one that does not come in time joins again, so a waiter that left costs
 * one window at most.
 */
export const WAITING_LINE = `local function line_ms()
  local time = redis.call("TIME")
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000), time
end
local function line_join(first, count, id, checkin, window, waited, left)
  if id ~= "" and id ~= "*" and first > 0 then
    local now, time = line_ms()
    local deadline = now + tonumber(checkin)
    local ticket = string.format("%.0f", tonumber(time[1]) * 1000000 + tonumber(time[2]) - tonumber(waited) * 1000)
    for i = first, first + count - 1 do
      redis.call("HSET", KEYS[i], id, ticket .. " " .. deadline .. " " .. window)
      if redis.call("PTTL", KEYS[i]) < tonumber(checkin) then redis.call("PEXPIRE", KEYS[i], checkin) end
    end
  end
  return -left
end
local function line_turn(first, count, id)
  local seen = false
  for i = first, first + count - 1 do
    local turn = redis.call("HGET", KEYS[i], "~")
    if turn then
      seen = true
      local who, till = string.match(turn, "^(.*) (%d+)$")
      if who ~= id then
        local left = tonumber(till) - line_ms()
        if left > 0 then return left, seen end
      end
    end
  end
  return 0, seen
end
local function line_leave(first, count, id, stay, checkin, window)
  for i = first, first + count - 1 do
    local turn = redis.call("HGET", KEYS[i], "~")
    if turn and string.match(turn, "^(.*) ") ~= id then redis.call("HDEL", KEYS[i], "~") end
    redis.call("HDEL", KEYS[i], id)
  end
  if stay == "1" then line_join(first, count, id, checkin, window, 0, 0) end
end
local function line_next(key, undoing)
  if undoing and undoing ~= "" then
    local turn = redis.call("HGET", key, "~")
    if turn then
      local who, till = string.match(turn, "^(.*) (%d+)$")
      if who == undoing and tonumber(till) > line_ms() then return end
    end
  end
  local entries = redis.call("HGETALL", key)
  if #entries == 0 then return end
  local now = line_ms()
  local best, ticket, window
  for j = 1, #entries, 2 do
    local id = entries[j]
    if id ~= "~" then
      local t, deadline, w = string.match(entries[j + 1], "^(%d+) (%d+) (%d+)$")
      if not t or tonumber(deadline) <= now then
        redis.call("HDEL", key, id)
      elseif not best or tonumber(t) < ticket then
        best, ticket, window = id, tonumber(t), tonumber(w)
      end
    end
  end
  if best then
    redis.call("HDEL", key, best)
    redis.call("HSET", key, "~", best .. " " .. (now + window))
    if redis.call("PTTL", key) < window then redis.call("PEXPIRE", key, window) end
  else
    redis.call("HDEL", key, "~")
  end
end
`;
