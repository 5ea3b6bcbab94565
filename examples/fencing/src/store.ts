import type { Redis } from "ioredis";

/**
 * A storage service that takes fencing tokens: it remembers the highest token it has seen for a
 * document and refuses writes that carry a lower one. The check and the write are one atomic
 * script, so the store itself orders the writers.
 */
const FENCED_WRITE = `
local highest = tonumber(redis.call("GET", KEYS[2]) or "0")
local token = tonumber(ARGV[2])
if token < highest then return 0 end
redis.call("SET", KEYS[2], ARGV[2])
redis.call("SET", KEYS[1], ARGV[1])
return 1
`;

export class FencedStore {
  constructor(private readonly redis: Redis) {}

  /** Write `value` to `doc` if `token` is not older than any token the store has seen. */
  async write(doc: string, value: string, token: number): Promise<boolean> {
    const accepted = await this.redis.eval(
      FENCED_WRITE,
      2,
      `doc:${doc}`,
      `doc:${doc}:token`,
      value,
      token,
    );
    return accepted === 1;
  }

  read(doc: string): Promise<string | null> {
    return this.redis.get(`doc:${doc}`);
  }
}
