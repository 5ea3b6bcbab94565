import { fenceKey } from "@redlock/core/adapter";
import { type RedisNode, respCall, startRedis, teardownAll } from "@redlock/testbed";
import { NodeError, QuorumUnreachableError, Redlock } from "../src";
import { at, connected, type Flavour, flavours } from "./helpers";

let node: RedisNode;
let counter = 0;

beforeAll(async () => {
  node = await startRedis();
});
beforeEach(() => respCall(at(node), "FLUSHALL"));
afterAll(() => teardownAll());

const LOCK_VALUE = "0123456789abcdef0123456789abcdef";

// The marker and the fencing counters are reserved keys: a value the library did not write there
// is never overwritten, and the driver reports it as a failure of that node.
describe.each(flavours)("$label", (flavour: Flavour) => {
  test.each([
    ["the marker", () => "__redlock__:boot", { restartGuard: { period: 100 } }, false],
    ["a fencing counter", (r: string) => fenceKey(r, "app:"), { keyPrefix: "app:" }, true],
  ])(
    "a lock value at %s fails that node and is left as it is",
    async (_, reserved, options, fencing) => {
      const resource = `reserved:${++counter}`;
      const key = reserved(resource);
      await respCall(at(node), "SET", key, LOCK_VALUE, "PX", 60_000);
      const client = await connected(flavour.client(node.url));
      const redlock = new Redlock([client], { ...options, retryCount: 0 });
      const errors: Error[] = [];
      redlock.on("error", (error) => errors.push(error));
      try {
        await expect(redlock.acquire([resource], 1000, { fencing })).rejects.toBeInstanceOf(
          QuorumUnreachableError,
        );
      } finally {
        await redlock.quit();
      }
      expect(errors[0]).toBeInstanceOf(NodeError);
      expect(errors[0]?.message).toContain(`REDLOCK_RESERVED_KEY ${key}`);
      expect(await respCall(at(node), "GET", key)).toBe(LOCK_VALUE);
      expect(Number(await respCall(at(node), "PTTL", key))).toBeGreaterThan(50_000);
      expect(await respCall(at(node), "KEYS", "*")).toEqual([key]);
    },
  );
});
