import { rmSync } from "node:fs";

/** Anything started here that must be closed by {@link teardownAll}. */
export interface Closeable {
  close(): Promise<void>;
}

const resources = new Set<Closeable>();
const pids = new Set<number>();
const dirs = new Set<string>();
let exitHookInstalled = false;

/** SIGCONT (a paused process cannot die otherwise) then SIGKILL, ignoring exited processes. */
function killPidSync(pid: number): void {
  try {
    process.kill(pid, "SIGCONT");
  } catch {
    // already gone
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Kill every tracked process and remove every tracked directory, synchronously (at exit). */
function cleanupSync(): void {
  for (const pid of pids) killPidSync(pid);
  pids.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  dirs.clear();
}

/** Clean up on exit and on SIGINT, SIGTERM and SIGHUP, once per process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", cleanupSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      cleanupSync();
      process.kill(process.pid, signal);
    });
  }
}

/** Register `resource` to be closed by {@link teardownAll}. */
export function trackResource(resource: Closeable): void {
  installExitHook();
  resources.add(resource);
}

/** Forget a resource that closed by itself. */
export function untrackResource(resource: Closeable): void {
  resources.delete(resource);
}

/** Kill process `pid` at exit if it still runs. */
export function trackPid(pid: number): void {
  installExitHook();
  pids.add(pid);
}

/** Forget an exited process. */
export function untrackPid(pid: number): void {
  pids.delete(pid);
}

/** Remove directory `dir` at exit if it still exists. */
export function trackDir(dir: string): void {
  installExitHook();
  dirs.add(dir);
}

/** Forget a removed directory. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/**
 * Closes every node, proxy, cluster and tracked resource started in this process, newest first.
 * Safe to call from `afterAll`/`afterEach` even when a test failed half-way; errors are collected
 * and rethrown together after everything was attempted.
 */
export async function teardownAll(): Promise<void> {
  const errors: unknown[] = [];
  for (const resource of [...resources].reverse()) {
    try {
      await resource.close();
    } catch (err) {
      errors.push(err);
    }
    resources.delete(resource);
  }
  cleanupSync();
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "teardownAll: some resources failed");
}

/** Number of live tracked resources; useful to assert that a suite cleaned up after itself. */
export function trackedResourceCount(): number {
  return resources.size;
}
