const POOL_VALUES = 256;
let pool = new Uint8Array(0);
let offset = 0;

/**
 * A lock value: 128 random bits from the platform CSPRNG, as 32 hex characters. Bytes are drawn
 * 4 KiB at a time; each value uses its own 16 bytes exactly once.
 */
export function randomValue(): string {
  if (offset >= pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(16 * POOL_VALUES));
    offset = 0;
  }
  let hex = "";
  for (let i = offset; i < offset + 16; i++) hex += HEX[pool[i] as number];
  // Wipe what was used, so the pool never holds a value that was handed out.
  pool.fill(0, offset, offset + 16);
  offset += 16;
  return hex;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
