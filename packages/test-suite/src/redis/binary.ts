import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A `redis-server` executable and its version. */
export interface RedisServerBinary {
  /** Absolute path of the executable. */
  path: string;
  /** e.g. "7.0.15" */
  version: string;
  /** e.g. 7 */
  major: number;
}

/** Can the current user execute `path`? */
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in the directories of PATH. */
function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The version `path --version` prints, such as "7.0.15". */
function readVersion(path: string): string {
  const out = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 5000 });
  const match = /v=(\d+\.\d+\.\d+)/.exec(out);
  if (!match?.[1]) throw new Error(`Cannot parse the version printed by ${path}: ${out.trim()}`);
  return match[1];
}

const cache = new Map<string, RedisServerBinary>();

/**
 * Locates `redis-server`: `REDIS_SERVER_BIN` when set (it must then be executable), otherwise the
 * first `redis-server` on PATH. Returns undefined when none exists.
 */
export function findRedisServer(): RedisServerBinary | undefined {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  let path: string | undefined;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new Error(`REDIS_SERVER_BIN=${fromEnv} is not an executable file`);
    }
    path = fromEnv;
  } else {
    path = findOnPath("redis-server");
  }
  if (!path) return undefined;
  const cached = cache.get(path);
  if (cached) return cached;
  const version = readVersion(path);
  const binary = { path, version, major: Number(version.split(".")[0]) };
  cache.set(path, binary);
  return binary;
}

/** Like `findRedisServer`, but throws an explanatory error when no binary is available. */
export function requireRedisServer(): RedisServerBinary {
  const binary = findRedisServer();
  if (!binary) {
    throw new Error(
      "redis-server not found on PATH: install Redis (Debian/Ubuntu: apt-get install redis-server; " +
        "macOS: brew install redis), point REDIS_SERVER_BIN at the binary, " +
        "or set REDIS_URLS to comma-separated redis:// URLs of servers to use instead",
    );
  }
  return binary;
}
