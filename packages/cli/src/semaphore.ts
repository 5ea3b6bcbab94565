import type { SemaphoreRunOptions } from "./args";
import type { Reporter } from "./reporter";
import { type Holding, runUnder } from "./run";

/**
 * `redlock semaphore run`: take `options.permits` permits of the semaphore on the one resource
 * of `options` (at most `options.limit` held at once), run the command while they are extended,
 * stop it if they are lost, give them back when it exits. Everything else is `redlock run`'s.
 * @returns the exit status for `redlock`
 */
export function semaphoreRunCommand(
  options: SemaphoreRunOptions,
  reporter: Reporter,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  return runUnder(options, semaphoreHolding(options), reporter, env);
}

/**
 * The permits of `redlock semaphore run`, taken all or nothing through `Semaphore.using()`. The
 * command learns the limit and its permits from `REDLOCK_SEMAPHORE_LIMIT` and `REDLOCK_PERMITS`.
 */
export function semaphoreHolding(options: SemaphoreRunOptions): Holding {
  const { limit, permits } = options;
  const resource = options.resources[0] as string;
  return {
    noun: permits === 1 ? "the permit" : "the permits",
    label: permitsOf(permits, limit, resource),
    using: (redlock, settings, routine) =>
      redlock.semaphore(resource, { limit }).using(options.ttl, { ...settings, permits }, routine),
    variables: () => ({
      REDLOCK_SEMAPHORE_LIMIT: String(limit),
      REDLOCK_PERMITS: String(permits),
    }),
    acquiredFields: () => ({ limit, permits }),
    acquiredNote: () => "",
    busy: (message) =>
      `busy: ${permits === 1 ? "no free permit" : `fewer than ${permits} free permits`} of ` +
      `${resource} (limit ${limit}): ${message}`,
  };
}

/** `1 of 2 permits of uploads`: what is held, for messages. */
function permitsOf(permits: number, limit: number, resource: string): string {
  return `${permits} of ${limit} permit${limit === 1 ? "" : "s"} of ${resource}`;
}
