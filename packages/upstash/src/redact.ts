/** What stands where a credential was. */
export const REDACTED = "[redacted]";

/** Characters a token is made of: text around the token made of these is part of another word. */
const TOKEN_CHARS = "A-Za-z0-9+/=_.~-";
/**
 * Where an HTTP client, server or proxy writes credentials: after `Bearer`, as the value of an
 * `authorization` header or field, as a `token` query parameter, as a URL's user information.
 */
const CREDENTIALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(\bBearer\s+)[^\s"'`,;)\]}]+/gi, `$1${REDACTED}`],
  [/(\bauthorization\b["']?\s*[:=]\s*["']?)(?!Bearer\s)[^\s"'`,;)\]}]+/gi, `$1${REDACTED}`],
  [/([?&#](?:_?token|access_token)=)[^&#\s"'`]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/gi, `$1${REDACTED}@`],
];

/**
 * `text` with credentials removed by where they stand (see `CREDENTIALS`), and the token itself
 * where it stands as a whole word. A token's characters inside other words stay: a token "t"
 * leaves "fetch failed" alone.
 */
export function redactCredentials(text: string, token: string | undefined): string {
  let out = text;
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  if (token) {
    const escaped = token.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    const word = new RegExp(`(?<![${TOKEN_CHARS}])${escaped}(?![${TOKEN_CHARS}])`, "g");
    out = out.replace(word, REDACTED);
  }
  return out;
}

/**
 * Remove credentials from `error`, a fresh copy made by `sanitizeError` (so changing it changes
 * nothing a caller holds), and from its causes. A server or proxy can echo the credentials it
 * rejected.
 */
export function scrub(error: Error, token: string | undefined, depth = 0): Error {
  if (depth > 8) return error;
  const fields = error as unknown as Record<string, unknown>;
  for (const field of ["message", "stack", "name", "hostname", "address"]) {
    const value = fields[field];
    if (typeof value === "string") fields[field] = redactCredentials(value, token);
  }
  if (error.cause instanceof Error) scrub(error.cause, token, depth + 1);
  if (error instanceof AggregateError) {
    for (const inner of error.errors) if (inner instanceof Error) scrub(inner, token, depth + 1);
  }
  return error;
}
