import {
  LockExpiredError,
  QuorumUnreachableError,
  Redlock,
  type RedlockOptions,
  ResourceLockedError,
  type ScriptRunner,
} from "@redlock/core";
import {
  FaultProxy,
  type RedisNode,
  respCall,
  startRedis,
  startRedisNodes,
} from "@redlock/test-suite/redis";

/** The matchers the primitives suite uses: what both Jest's and `bun:test`'s `expect` give. */
export interface PrimitivesMatchers {
  toBe(expected: unknown): unknown;
  toEqual(expected: unknown): unknown;
  toMatchObject(expected: object): unknown;
  toBeGreaterThan(expected: number): unknown;
  toBeLessThanOrEqual(expected: number): unknown;
  toContain(expected: string): unknown;
  toMatch(expected: RegExp): unknown;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): unknown;
}

/** The test API the primitives suite runs on: Jest's globals and `bun:test` both fit. */
export interface PrimitivesTestApi {
  describe(name: string, fn: () => void): void;
  test(name: string, fn: () => Promise<void>): void;
  expect(actual: unknown): PrimitivesMatchers & {
    not: PrimitivesMatchers;
    rejects: PrimitivesMatchers;
  };
  beforeAll(fn: () => Promise<unknown>, timeout?: number): void;
  afterAll(fn: () => Promise<unknown>): void;
  afterEach(fn: () => Promise<unknown>): void;
}

/** A primary and a replica that replicates from it through a fault proxy. */
export interface ReplicaPair {
  primary: RedisNode;
  replica: RedisNode;
  /** The replication link: cut it with `blackhole()`, restore it with `pass()`. */
  link: FaultProxy;
}

/** What a target's own replicaSync tests get from the suite. */
export interface ReplicaSuiteContext {
  /** A fresh primary with a replica in sync, stopped after the test. */
  pair(): Promise<ReplicaPair>;
  /** Options that wait for one replica, generously. */
  synced: RedlockOptions;
}

/** The adapter under test, compared with ioredis on the same servers. */
export interface PrimitivesTarget {
  /** The adapter's name in test names (`"bun"`, `"valkey-glide"`). */
  driver: string;
  /** How test names call the adapter (`"Bun"`, `"GLIDE"`). */
  label: string;
  /** How the replicaSync group calls the client; `label` unless given. */
  client?: string;
  /** The prefix of the keys the suite locks, one per target. */
  prefix: string;
  /** A runner over a client of the adapter's own for `node`. */
  runner(node: RedisNode): ScriptRunner | Promise<ScriptRunner>;
  /** A runner over an ioredis client of its own for `node`. */
  ioredisRunner(node: RedisNode): ScriptRunner;
  /** Closes every client opened so far, through either driver. */
  close(): unknown;
  /** How a replicaSync refusal reads; "0 of 1 replicas acknowledged the grant" unless given. */
  refusal?: RegExp;
  /** The timeout of the hook that starts three servers, where the default is too short. */
  startTimeout?: number;
  /** The target's own tests, run inside the replicaSync group after the shared ones. */
  replicaTests?(context: ReplicaSuiteContext): void;
}

/**
 * Semaphores, read-write locks, inspect() and adopt() through `target`'s adapter and through
 * ioredis on the same three servers: each driver respects what the other holds. Then
 * replicaSync through the adapter on a primary with a replica. The caller tears the servers
 * down (`teardownAll`) and closes its clients once the file is done.
 */
export function primitivesSuite(api: PrimitivesTestApi, target: PrimitivesTarget): void {
  const { describe, test, expect, beforeAll, afterAll, afterEach } = api;
  const { driver: adapter, label, prefix } = target;
  const DRIVERS = [adapter, "ioredis"];

  describe("on three nodes", () => {
    let nodes: RedisNode[];
    const redlocks = new Map<string, Redlock>();
    const via = (driver: string) => redlocks.get(driver) as Redlock;
    // A refused try is decided at its first refusal; grants of its slower nodes are undone in the
    // background. Wait for that (each instance's idle()) before the next step counts holders.
    const expectRefused = async (attempt: Promise<unknown>) => {
      await expect(attempt).rejects.toBeInstanceOf(ResourceLockedError);
      await Promise.all(DRIVERS.map((driver) => via(driver).idle()));
    };

    beforeAll(async () => {
      nodes = await startRedisNodes(3);
      for (const driver of DRIVERS) {
        const runners = await Promise.all(
          nodes.map((node) =>
            driver === "ioredis" ? target.ioredisRunner(node) : target.runner(node),
          ),
        );
        redlocks.set(driver, new Redlock(runners, { retryCount: 0, retryDelay: 50 }));
      }
    }, target.startTimeout);
    afterAll(async () => {
      await target.close();
      await Promise.all(nodes.map((node) => node.stop()));
    });

    describe("a semaphore of 2", () => {
      const semaphore = (driver: string, resource: string) =>
        via(driver).semaphore(resource, { limit: 2 });

      test(`holds across ${label} and ioredis; a release through one lets the other in`, async () => {
        const resource = `${prefix}-semaphore:jobs`;
        // Every node must grant: more than 3 × 2 / 3 of them.
        expect(semaphore(adapter, resource).quorum).toBe(3);
        const viaAdapter = await semaphore(adapter, resource).acquire(20_000);
        const viaIoredis = await semaphore("ioredis", resource).acquire(20_000);
        for (const driver of DRIVERS) {
          await expectRefused(semaphore(driver, resource).acquire(20_000));
        }
        for (const node of nodes) {
          expect(await respCall(node, "ZCARD", resource)).toBe(2);
          expect(Number(await respCall(node, "PTTL", resource))).toBeGreaterThan(10_000);
        }

        expect((await viaAdapter.release()).outcome).toBe("released");
        // A release is decided at a majority, a grant here needs every node: wait for them all.
        await via(adapter).idle();
        const next = await semaphore("ioredis", resource).acquire(20_000);
        await expectRefused(semaphore(adapter, resource).acquire(20_000));
        expect((await viaIoredis.release()).outcome).toBe("released");
        await via("ioredis").idle();
        const last = await semaphore(adapter, resource).acquire(20_000);
        expect((await next.release()).outcome).toBe("released");
        expect((await last.release()).outcome).toBe("released");
        await Promise.all(DRIVERS.map((driver) => via(driver).idle()));
        for (const node of nodes) expect(await respCall(node, "EXISTS", resource)).toBe(0);
      });

      for (const driver of DRIVERS) {
        test(`two permits taken through ${driver} fill it for both drivers, and extend`, async () => {
          const resource = `${prefix}-semaphore:${driver}:both`;
          const both = await semaphore(driver, resource).acquire(20_000, { permits: 2 });
          for (const other of DRIVERS) {
            await expectRefused(semaphore(other, resource).acquire(20_000));
          }
          const extended = await both.extend(60_000);
          for (const node of nodes) {
            expect(await respCall(node, "ZCARD", resource)).toBe(2);
            expect(Number(await respCall(node, "PTTL", resource))).toBeGreaterThan(30_000);
          }
          expect((await extended.release()).outcome).toBe("released");
          await via(driver).idle(); // decided at quorum: wait for every node
          for (const node of nodes) expect(await respCall(node, "EXISTS", resource)).toBe(0);
        });
      }

      for (const driver of DRIVERS) {
        test(`a permit taken through ${driver} excludes a lock through either driver`, async () => {
          const resource = `${prefix}-semaphore:${driver}:shared`;
          const permit = await semaphore(driver, resource).acquire(20_000);
          for (const other of DRIVERS) {
            await expectRefused(via(other).acquire([resource], 20_000));
          }
          await permit.release();
          const lock = await via(driver).acquire([resource], 20_000);
          for (const other of DRIVERS) {
            await expectRefused(semaphore(other, resource).acquire(20_000));
          }
          await lock.release();
        });
      }
    });

    describe("a read-write lock", () => {
      const rw = (driver: string, resource: string) => via(driver).readWriteLock(resource);

      for (const writerDriver of DRIVERS) {
        test(`a writer through ${writerDriver} waits for the readers of both drivers, then excludes them`, async () => {
          const resource = `${prefix}-rw:${writerDriver}:doc`;
          const readers = await Promise.all(
            DRIVERS.map((driver) => rw(driver, resource).read(20_000)),
          );
          // Granted at quorum: wait for every node's vote before looking at all of them.
          await Promise.all(readers.flatMap((reader) => reader.attempts));
          for (const node of nodes) expect(await respCall(node, "HLEN", resource)).toBe(2);
          const writing = rw(writerDriver, resource).write(20_000, { retryCount: 200 });
          // Once the waiting writer has marked itself, new readers are refused through either
          // driver.
          let refused = 0;
          while (refused < DRIVERS.length) {
            refused = 0;
            for (const driver of DRIVERS) {
              const outcome = await rw(driver, resource)
                .read(20_000)
                .then(
                  (lock) => lock.release().then(() => "granted"),
                  (error: unknown) => (error instanceof ResourceLockedError ? "refused" : error),
                );
              if (outcome === "refused") refused++;
            }
          }
          for (const reader of readers) await reader.release();
          const writer = await writing;
          // Handed out at quorum: wait for every node's vote before looking at all of them.
          await Promise.all(writer.attempts);
          // Readers refused overall may have been granted on one node; their grants are given back in
          // the background: once that is done, no node has a reader, and a quorum has the writer (a node
          // that refused the writer meanwhile keeps only its waiting mark, which expires on its own).
          await Promise.all(DRIVERS.map((driver) => via(driver).idle()));
          let holding = 0;
          for (const node of nodes) {
            const fields = (await respCall(node, "HKEYS", resource)) as string[];
            expect(fields.filter((field) => field.startsWith("r:"))).toEqual([]);
            if (!fields.includes(`w:${writer.value}`)) continue;
            holding++;
            expect(Number(await respCall(node, "PTTL", resource))).toBeGreaterThan(10_000);
          }
          expect(holding).toBeGreaterThan(1);
          for (const driver of DRIVERS) {
            await expectRefused(rw(driver, resource).read(20_000));
            await expectRefused(rw(driver, resource).write(20_000));
            await expectRefused(via(driver).acquire([resource], 20_000));
          }
          const extended = await writer.extend(40_000);
          expect((await extended.release()).outcome).toBe("released");
          await via(writerDriver).idle(); // decided at quorum: wait for every node
          // No holder is left; a waiting mark of a refused try may still be there until it expires.
          for (const node of nodes) {
            const fields = (await respCall(node, "HKEYS", resource)) as string[];
            expect(fields.filter((field) => !field.startsWith("i:"))).toEqual([]);
          }
        });
      }

      test("usingRead through both drivers at once; usingWrite runs once they are done", async () => {
        const resource = `${prefix}-rw:using`;
        const inside = new Set<string>();
        let bothInside = () => {};
        const together = new Promise<void>((resolve) => {
          bothInside = resolve;
        });
        let leave = () => {};
        const left = new Promise<void>((resolve) => {
          leave = resolve;
        });
        const reading = DRIVERS.map((driver) =>
          rw(driver, resource).usingRead(20_000, async () => {
            inside.add(driver);
            if (inside.size === DRIVERS.length) bothInside();
            await left;
            inside.delete(driver);
          }),
        );
        await together; // both readers hold it at the same time
        for (const driver of DRIVERS) {
          await expectRefused(rw(driver, resource).write(20_000));
        }
        const writing = rw(adapter, resource).usingWrite(
          20_000,
          { retryCount: 200 },
          async () => inside.size,
        );
        leave();
        await Promise.all(reading);
        expect(await writing).toBe(0);
        // The writer's refused tries may have been granted on a node; that is undone in the
        // background.
        await Promise.all(DRIVERS.map((driver) => via(driver).idle()));
        // No hold is left, only the marks of the writers refused above, until they expire.
        for (const node of nodes) {
          const fields = (await respCall(node, "HKEYS", resource)) as string[];
          expect(fields.filter((field) => !field.startsWith("i:"))).toEqual([]);
        }
      });
    });

    const pairs = DRIVERS.flatMap((holder) =>
      DRIVERS.filter((other) => other !== holder).map((other) => [holder, other] as const),
    );

    for (const [holder, other] of pairs) {
      describe(`a lock taken through ${holder}, seen through ${other}`, () => {
        const resources = [`${prefix}:${holder}>${other}:a`, `${prefix}:${holder}>${other}:b`];

        test("inspect: held on every node, mine only with the value, the value never shown", async () => {
          const lock = await via(holder).acquire(resources, 20_000);
          await Promise.all(lock.attempts); // every node's vote, not only a quorum's
          const withValue = await via(other).inspect(resources, lock.value);
          const without = await via(other).inspect([
            ...resources,
            `${prefix}:${holder}>${other}:free`,
          ]);
          for (const view of withValue) {
            expect(view).toMatchObject({ state: "held", mine: true });
            expect(view.validity).toBeGreaterThan(10_000);
            for (const node of view.nodes) {
              expect(node).toMatchObject({ state: "held", mine: true });
              expect(node.ttl).toBeGreaterThan(10_000);
            }
          }
          expect(without.map((view) => [view.state, view.mine])).toEqual([
            ["held", false],
            ["held", false],
            ["free", false],
          ]);
          expect(JSON.stringify(without)).not.toContain(lock.value);
          await lock.release();
          const [after] = await via(other).inspect(resources[0] as string, lock.value);
          expect(after).toMatchObject({ state: "free", mine: false });
        });

        test("adopt: the other driver extends and releases the holder's lock by its value", async () => {
          const started = Date.now();
          const lock = await via(holder).acquire(resources, 20_000);
          // The keys expire 20 s after they were set, at most the acquisition's time after it
          // began.
          const took = Date.now() - started;
          const adopted = await via(other).adopt(resources, lock.value);
          expect(adopted.expiration).toBeGreaterThan(Date.now() + 10_000);
          expect(adopted.expiration).toBeLessThanOrEqual(lock.expiration + took + 50);
          const extended = await adopted.extend(60_000);
          await Promise.all(extended.attempts);
          for (const node of nodes) {
            expect(Number(await respCall(node, "PTTL", resources[0] as string))).toBeGreaterThan(
              30_000,
            );
          }
          expect((await extended.release()).outcome).toBe("released");
          await expect(via(other).adopt(resources, lock.value)).rejects.toBeInstanceOf(
            LockExpiredError,
          );
          const taken = await via(holder).acquire(resources, 20_000);
          // Taken at quorum: wait for every node's vote, so no node still answers "gone".
          await Promise.all(taken.attempts);
          await expect(via(other).adopt(resources, lock.value)).rejects.toBeInstanceOf(
            ResourceLockedError,
          );
          await taken.release();
        });
      });
    }

    test(`inspect through ${label} tells a semaphore's key from a lock`, async () => {
      const typed = `${prefix}:typed`;
      const permit = await via("ioredis").semaphore(typed, { limit: 2 }).acquire(20_000);
      const [view] = await via(adapter).inspect(typed, permit.value);
      // The holder's permits are recognized by its value; another value is not.
      expect(view).toMatchObject({ state: "held", mine: true });
      const [other] = await via(adapter).inspect(typed, "someone-else");
      expect(other).toMatchObject({ state: "held", mine: false });
      expect(view?.nodes.every((node) => node.state === "other" && node.ttl > 10_000)).toBe(true);
      await permit.release();
    });
  });

  describe(`replicaSync through ${target.client ?? label}, on a primary with a replica`, () => {
    /** Stops what a test started, last started first. */
    const stops: (() => unknown)[] = [];
    afterEach(async () => {
      await target.close();
      for (const stop of stops.splice(0).reverse()) await stop();
    });

    /** A primary and a replica that replicates through a fault proxy (to cut the link at will). */
    async function pair(): Promise<ReplicaPair> {
      // Without the default 5 s wait before a diskless full sync: the replica is in sync sooner.
      const primary = await startRedis({ args: ["--repl-diskless-sync-delay", "0"] });
      stops.push(() => primary.stop());
      const link = await FaultProxy.start({ host: primary.host, port: primary.port });
      stops.push(() => link.close());
      const replica = await startRedis({ args: ["--replicaof", link.host, String(link.port)] });
      stops.push(() => replica.stop());
      // Wait until the replica is in sync (the link is up), as a real deployment would be.
      for (;;) {
        const info = String(await respCall(replica, "INFO", "replication"));
        if (info.includes("master_link_status:up")) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { primary, replica, link };
    }

    // Generous: a replica on a busy machine acknowledges within milliseconds, but not always.
    const synced: RedlockOptions = {
      replicaSync: { replicas: 1, timeout: 2000 },
      nodeTimeout: 5000,
      retryCount: 0,
    };

    test("a grant counts once the replica has it, and survives a failover to the replica", async () => {
      const { primary, replica } = await pair();
      const redlock = new Redlock([await target.runner(primary)], synced);
      const lock = await redlock.acquire(["job"], 30_000);
      // Granted only after WAIT: the replica has the write already.
      expect(await respCall(replica, "GET", "job")).toBe(lock.value);
      const extended = await lock.extend(60_000);
      expect(Number(await respCall(replica, "PTTL", "job"))).toBeGreaterThan(30_000);

      // The failover: the primary is gone, the replica is promoted.
      await primary.stop();
      await respCall(replica, "REPLICAOF", "NO", "ONE");
      for (const runner of [await target.runner(replica), target.ioredisRunner(replica)]) {
        await expect(
          new Redlock([runner], { retryCount: 0 }).acquire(["job"], 30_000),
        ).rejects.toBeInstanceOf(ResourceLockedError);
      }
      expect(await respCall(replica, "GET", "job")).toBe(extended.value);
    });

    test("with the replica cut off, grants are refused and undone, for locks, semaphores and writers", async () => {
      const { primary, replica, link } = await pair();
      const runner = await target.runner(primary);
      const redlock = new Redlock([runner], {
        ...synced,
        replicaSync: { replicas: 1, timeout: 300 },
      });
      link.blackhole(); // the replication stream stops: the replica acknowledges nothing
      // Their WAITs share the client's connection, where the server runs them in turn.
      const refusals = await Promise.all(
        [
          redlock.acquire(["job"], 30_000),
          redlock.semaphore("pool", { limit: 2 }).acquire(30_000),
          redlock.readWriteLock("doc").write(30_000),
        ].map((granted) =>
          granted.then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      );
      for (const error of refusals) {
        expect(error).toBeInstanceOf(QuorumUnreachableError);
        expect((error as Error).message).toMatch(
          target.refusal ?? /0 of 1 replicas acknowledged the grant/,
        );
      }
      await redlock.idle();
      for (const key of ["job", "pool", "doc"]) {
        expect(await respCall(primary, "EXISTS", key)).toBe(0);
      }

      // Once the link is back, the same grants count (given the time to catch up), and the
      // replica has each of them.
      link.pass();
      const caughtUp = new Redlock([runner], synced);
      const lock = await caughtUp.acquire(["job"], 30_000);
      const permit = await caughtUp.semaphore("pool", { limit: 2 }).acquire(30_000);
      const writer = await caughtUp.readWriteLock("doc").write(30_000);
      expect(await respCall(replica, "GET", "job")).toBe(lock.value);
      expect(await respCall(replica, "ZCARD", "pool")).toBe(1);
      expect(await respCall(replica, "HLEN", "doc")).toBe(1);
      for (const held of [lock, permit, writer]) await held.release();
    });

    test("grants made at once through one client each count once the replica has them", async () => {
      const { primary, replica } = await pair();
      const redlock = new Redlock([await target.runner(primary)], synced);
      const resources = ["a", "b", "c", "d", "e"].map((name) => `many:${name}`);
      const locks = await Promise.all(
        resources.map((resource) => redlock.acquire([resource], 30_000)),
      );
      for (const lock of locks) {
        expect(await respCall(replica, "GET", lock.resources[0] as string)).toBe(lock.value);
      }
      for (const lock of locks) await lock.release();
    });

    target.replicaTests?.({ pair, synced });
  });
}
