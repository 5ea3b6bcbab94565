/** A lock value: 128 random bits from the platform CSPRNG, as 32 hex characters. */
export function randomValue(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
