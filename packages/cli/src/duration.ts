/** Milliseconds per unit accepted by {@link parseDuration}. */
const UNITS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
});

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/**
 * Parse a duration as the command line takes it: a number with a unit (`500ms`, `30s`, `1.5m`,
 * `1h`) or a plain number of milliseconds (`2500`).
 * @param text the duration
 * @returns whole milliseconds
 * @throws {RangeError} not a duration, or not a whole number of milliseconds
 */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  const amount = Number(match?.[1]);
  const ms = amount * (UNITS[match?.[2] ?? "ms"] as number);
  if (!match || !Number.isSafeInteger(ms)) {
    throw new RangeError(
      `${JSON.stringify(text)} is not a duration: expected a whole number of milliseconds, or a ` +
        "number with a unit: ms, s, m or h (500ms, 30s, 1.5m, 1h).",
    );
  }
  return ms;
}

/** `ms` for people: `850ms`, `29.1s`, `12m 5s`; `no expiry` for an infinite duration. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "no expiry";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 120_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m ${seconds}s`;
}
