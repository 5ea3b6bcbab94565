/** What a removed secret is replaced with. */
const REDACTED = "[redacted]";
/** What this library's lock values look like (128 random bits as hex), wherever they come from. */
const LOCK_VALUE = /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/gi;
/** A driver's echo of the whole command, such as @upstash/redis's ", command was: [...]". */
const COMMAND_ECHO = /,?\s*command was:[\s\S]*$/i;
/** Arguments this long or longer are redacted; durations and flags are shorter than a lock value. */
const MIN_SECRET = 8;
/** Causes nested deeper than this are dropped. */
const MAX_DEPTH = 8;
/** The fields of a driver error that identify the failure and never hold command arguments. */
const FIELDS = ["code", "errno", "syscall", "address", "hostname", "port"] as const;
const NO_MESSAGE = "the runner failed with a value that has no readable message";

/**
 * A copy of a driver's error that is safe to keep, log and emit. A lock value is a bearer token,
 * and drivers attach what they sent to their errors (ioredis's `command.args`, the password of a
 * failed `AUTH`; @upstash/redis's "command was: …"). The copy is a plain `Error` (an
 * `AggregateError` for one) with the original's `name`, its `message` with the secrets removed,
 * `code`, `errno`, `syscall`, `address`, `hostname`, `port`, its stack frames and a sanitized
 * `cause`; nothing else is copied. For adapter authors (`@redlock/core/adapter`): wrap every
 * driver error in it before it becomes a `cause`.
 *
 * Removed from every copied string: each of `secrets` at least 8 characters long (pass the
 * script's arguments: they hold the lock value), anything shaped like a lock value (32 hex
 * characters, such as another lock's value in a pipelined error), and command echoes.
 *
 * @param error what the driver threw; never throws itself, whatever it is given
 * @param secrets the arguments of the failed call
 * @example
 * ```ts
 * client.evalsha(script.sha1, keys.length, ...keys, ...args).catch((error) => {
 *   const cause = sanitizeError(error, args);
 *   throw new NodeError(name, `${script.name} script failed: ${cause.message}`, { cause });
 * });
 * ```
 */
export function sanitizeError(error: unknown, secrets: readonly unknown[] = []): Error {
  const texts = secrets
    .filter((secret) => typeof secret === "string" || typeof secret === "number")
    .map(String)
    .filter((secret) => secret.length >= MIN_SECRET)
    .sort((a, b) => b.length - a.length);
  return copy(error, texts, 0);
}

function copy(error: unknown, secrets: readonly string[], depth: number): Error {
  const clean = (text: string) => redact(text, secrets);
  const rawMessage = read(() => (error as { message?: unknown }).message);
  const errorLike =
    typeof error === "object" &&
    error !== null &&
    (read(() => error instanceof Error) === true || typeof rawMessage === "string");
  if (!errorLike) return new Error(clean(describe(error)));

  const message = clean(typeof rawMessage === "string" ? rawMessage : NO_MESSAGE);
  const rawCause = depth < MAX_DEPTH ? read(() => (error as { cause?: unknown }).cause) : undefined;
  const options =
    rawCause === undefined ? undefined : { cause: copy(rawCause, secrets, depth + 1) };
  const inner = read(() => (error as { errors?: unknown }).errors);
  const out =
    Array.isArray(inner) && depth < MAX_DEPTH
      ? new AggregateError(
          inner.map((item: unknown) => copy(item, secrets, depth + 1)),
          message,
          options,
        )
      : new Error(message, options);

  const name = read(() => (error as { name?: unknown }).name);
  if (typeof name === "string" && name !== out.name) out.name = clean(name);
  const fields = out as unknown as Record<string, unknown>;
  for (const field of FIELDS) {
    const value = read(() => (error as Record<string, unknown>)[field]);
    if (typeof value === "number") fields[field] = value;
    else if (typeof value === "string") fields[field] = clean(value);
  }
  // The original's frames under the new header: its own first line repeats the raw message.
  const stack = read(() => (error as { stack?: unknown }).stack);
  const frames =
    typeof stack === "string" ? stack.split("\n").filter((line) => /^\s+at /.test(line)) : [];
  out.stack = [`${out.name}: ${message}`, ...frames.map(clean)].join("\n");
  return out;
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(COMMAND_ECHO, "");
  for (const secret of secrets) out = out.replaceAll(secret, REDACTED);
  return out.replace(LOCK_VALUE, REDACTED);
}

/** Text for a thrown value that is not an error, even one whose `toString` throws. */
function describe(value: unknown): string {
  const text = read(() => String(value));
  return typeof text === "string" ? text : NO_MESSAGE;
}

/** `get()`, or `undefined` when it throws (a getter, a proxy trap, a hostile `toString`). */
function read<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}
