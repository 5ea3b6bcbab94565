import { InvalidArgumentError } from "./errors";
import type { LockScript } from "./script-runner";
import { WAITING_LINE } from "./scripts-common";
import { ACQUIRE_GUARDED_SCRIPT, FENCE_SCRIPT } from "./scripts-guarded";
import { ADOPT_SCRIPT, INSPECT_SCRIPT } from "./scripts-inspect";
import { sha1 } from "./sha1";

/**
 * Acquire every key for one lock value, all or nothing.
 *
 * KEYS[1..n]     the lock's resource keys
 * KEYS[n+1..2n]  their waiting lines (`waitingLineKey`), present when ARGV[3] is given
 * ARGV[1]        the lock value (random, unique per lock)
 * ARGV[2]        the duration in milliseconds (PX)
 * ARGV[3]        optional: the caller's place in the waiting lines, five words separated by one
 *                space: "<waiter id> <checkin> <window> <stay> <waited>", where
 *                - the waiter id is the caller's process; "" when it does not wait in line, "*"
 *                  when it waits but cannot hear releases (no place, and turns do not hold it back)
 *                - checkin: ms the caller stays in line without trying again
 *                - window: ms the caller needs to come when its turn is given
 *                - stay: "1" when more waiters with that id wait (a grant moves the id to the end
 *                  of the line instead of taking it out), "0" otherwise
 *                - waited: ms the caller's process has been waiting for its next turn
 *                Without ARGV[3], every key is a resource and no line is read or written.
 *
 * Returns n when every key now holds ARGV[1] with a fresh TTL. A key that already holds
 * ARGV[1] counts as granted and is refreshed, so a write retried after a lost reply is safe.
 * Returns 0 or a negative number when any key holds another value (or another type), or when a
 * release gave the turn on a free key to another waiter, and then writes nothing but the
 * caller's place in line; a negative number is minus the ms that key stays taken (at least 1
 * while the key exists: a key in its last millisecond reports 1, not 0, which means no TTL).
 * An ARGV[3] that does not read as five such words, or an odd number of keys with it, is an
 * error reply, and nothing is written. Free keys with no line (the uncontended case) are taken
 * before the waiting-line functions are even defined: that call runs none of their code.
 */
export const ACQUIRE_SCRIPT = `local n = #KEYS
local first = 0
local id, checkin, window, stay, waited = "", "0", "0", "0", "0"
if ARGV[3] then
  id, checkin, window, stay, waited = string.match(ARGV[3], "^(%S*) (%d+) (%d+) ([01]) (%d+)$")
  if not id or #KEYS % 2 == 1 then
    return redis.error_reply("REDLOCK_BAD_ARGUMENT with a waiting-line argument '<id> <checkin ms> <window ms> <0|1> <waited ms>', the keys are the resources followed by their lines")
  end
  n = math.floor(#KEYS / 2)
  first = n + 1
end
local held = false
for i = 1, n do
  local current = redis.pcall("GET", KEYS[i])
  if current and current ~= ARGV[1] then
    held = redis.call("PTTL", KEYS[i])
    if held == 0 then held = 1 elseif held < 0 then held = 0 end
    break
  end
end
local lined = false
if first > 0 and id ~= "*" and not held then
  for i = first, first + n - 1 do
    if redis.call("EXISTS", KEYS[i]) == 1 then
      lined = true
      break
    end
  end
end
-- The common, uncontended case: free keys and no line to read or tidy up.
if not held and not lined and (first == 0 or id == "*" or stay ~= "1") then
  for i = 1, n do
    redis.call("SET", KEYS[i], ARGV[1], "PX", ARGV[2])
  end
  return n
end
${WAITING_LINE}if held then return line_join(first, n, id, checkin, window, waited, held) end
if lined then
  local left, seen = line_turn(first, n, id)
  if left > 0 then return line_join(first, n, id, checkin, window, waited, left) end
  if seen or id ~= "" then line_leave(first, n, id, stay, checkin, window) end
else
  line_join(first, n, id, checkin, window, 0, 0)
end
for i = 1, n do
  redis.call("SET", KEYS[i], ARGV[1], "PX", ARGV[2])
end
return n
`;

/**
 * Extend every key for one lock value, all or nothing. Never creates a missing key, so an
 * extension can never re-acquire a lock that was lost.
 *
 * KEYS[1..n]  the lock's resource keys
 * ARGV[1]     the lock value
 * ARGV[2]     the new duration in milliseconds (PX)
 *
 * Returns n when every key held ARGV[1] and now has the new TTL. Otherwise writes nothing and
 * returns 0 when a key holds another value (another lock took it), or -1 when keys are only
 * missing (the lock expired on this node and nobody took it).
 */
export const EXTEND_SCRIPT = `local missing = false
for i, key in ipairs(KEYS) do
  local current = redis.pcall("GET", key)
  if not current then
    missing = true
  elseif current ~= ARGV[1] then
    return 0
  end
end
if missing then return -1 end
for i, key in ipairs(KEYS) do
  redis.call("PEXPIRE", key, ARGV[2])
end
return #KEYS
`;

/**
 * Delete every key that holds one lock value; keys holding anything else are left alone. A
 * deleted key with a waiting line gives the turn to the longest waiter in it and is announced on
 * the channel `redlock:released:<key>`, so waiters can try at once.
 *
 * KEYS[1..n]     the lock's resource keys
 * KEYS[n+1..2n]  their waiting lines, present when ARGV[2] is given
 * ARGV[1]        the lock value
 * ARGV[2]        n, the number of resource keys (optional: without it, every key is a resource)
 * ARGV[3]        optional: the waiter id of an attempt that lost the race and undoes its
 *                grants; a turn it still has is kept instead of passed on
 *
 * Announcements: with lines (ARGV[2]), a deleted key is announced when it has a waiting line
 * (someone waited for it); a key nobody waits for is not, and the releasing process wakes its
 * own waiters itself. Without lines, every deleted key is announced.
 *
 * Returns { deleted, missing, heard }: keys deleted, keys that no longer existed, and the most
 * subscribers any one announcement reached (0 when none was made). The remaining
 * n − deleted − missing keys hold another value. With lines, when no key was missing and no
 * announcement reached a subscriber, the reply is just the integer `deleted`. Safe to repeat. A
 * release with no waiter in line returns before the waiting-line functions are defined.
 */
export const RELEASE_SCRIPT = `local n = tonumber(ARGV[2]) or #KEYS
local deleted = 0
local missing = 0
local heard = 0
local lines = false
for i = 1, n do
  local key = KEYS[i]
  local current = redis.pcall("GET", key)
  if current == ARGV[1] then
    redis.call("DEL", key)
    deleted = deleted + 1
    if n == #KEYS or redis.call("EXISTS", KEYS[n + i]) == 1 then
      local reached = redis.call("PUBLISH", "redlock:released:" .. key, "")
      if reached > heard then heard = reached end
      if n < #KEYS then
        lines = lines or {}
        lines[#lines + 1] = KEYS[n + i]
      end
    end
  elseif not current then
    missing = missing + 1
  end
end
-- Only a key with waiters in line gives a turn: the common case ends here.
if not lines then
  if n < #KEYS and missing == 0 then return deleted end
  return { deleted, missing, heard }
end
${WAITING_LINE}for _, line in ipairs(lines) do line_next(line, ARGV[3]) end
if missing == 0 and heard == 0 then return deleted end
return { deleted, missing, heard }
`;

/** The channel a release announces `key` on. */
export function releaseChannel(key: string): string {
  return `redlock:released:${key}`;
}

/** A replacement script, or a function that edits the default one (node-redlock v5 shape). */
export type ScriptOverride = string | ((defaultScript: string) => string);

/** Script overrides accepted by the `Redlock` constructor. */
export interface ScriptOverrides {
  readonly acquireScript?: ScriptOverride;
  readonly extendScript?: ScriptOverride;
  readonly releaseScript?: ScriptOverride;
}

/** The scripts a `Redlock` instance runs: node-redlock's three, plus the fencing and restart-guard pair. */
export interface LockScripts {
  readonly acquireScript: LockScript;
  readonly extendScript: LockScript;
  readonly releaseScript: LockScript;
  /** Acquire variant used with `fencing` or `restartGuard`; not affected by overrides. */
  readonly acquireGuardedScript: LockScript;
  /** Records a fencing token on the counters. */
  readonly fenceScript: LockScript;
  /** Verifies a lock value on every key, for `adopt()`; writes nothing. */
  readonly adoptScript: LockScript;
  /** Reports what each key holds without revealing values, for `inspect()`; writes nothing. */
  readonly inspectScript: LockScript;
}

/** Build a {@link LockScript} from Lua source, hashing it for `EVALSHA`. */
export function createScript(name: LockScript["name"], source: string): LockScript {
  return { name, source, sha1: sha1(source) };
}

/** The built-in scripts, hashed once. */
export const defaultScripts: LockScripts = {
  acquireScript: createScript("acquire", ACQUIRE_SCRIPT),
  extendScript: createScript("extend", EXTEND_SCRIPT),
  releaseScript: createScript("release", RELEASE_SCRIPT),
  acquireGuardedScript: createScript("acquire", ACQUIRE_GUARDED_SCRIPT),
  fenceScript: createScript("fence", FENCE_SCRIPT),
  adoptScript: createScript("adopt", ADOPT_SCRIPT),
  inspectScript: createScript("inspect", INSPECT_SCRIPT),
};

/** Apply a constructor override to a default script. @internal */
export function resolveScript(
  name: LockScript["name"],
  script: LockScript,
  replacement: ScriptOverrides[keyof ScriptOverrides],
): LockScript {
  if (replacement === undefined) return script;
  const source = typeof replacement === "function" ? replacement(script.source) : replacement;
  if (typeof source !== "string" || source.length === 0) {
    throw new InvalidArgumentError(
      "INVALID_SCRIPT",
      `scripts.${name}Script`,
      "expected Lua source, or a function that takes the default source and returns Lua source.",
    );
  }
  return source === script.source ? script : createScript(name, source);
}
