import { spawn } from "node:child_process";
import { InvalidArgumentError, Redlock } from "@redlock/ioredis";
import { respCall, teardownAll } from "@redlock/testbed";
import IORedis from "ioredis";
import { type Bed, closeBed, startBed } from "./drivers";

// Nothing the library starts outlives the call that started it, and nothing a user hands it
// (hooks, listeners, getters) can crash the process. Real redis-servers; child processes where
// the question is whether a process exits or crashes.

let bed: Bed;
const clients: IORedis[] = [];
const instances: Redlock[] = [];

function redlock(settings: ConstructorParameters<typeof Redlock>[1] = {}): Redlock {
  const made = bed.nodes.map(
    (node) => new IORedis(node.url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 }),
  );
  for (const client of made) client.on("error", () => {});
  clients.push(...made);
  const instance = new Redlock(made, settings);
  instances.push(instance);
  return instance;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `source` (CommonJS) in a child Node process; resolves with its exit code and output. */
function runChild(source: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["-e", source], {
      cwd: `${__dirname}/..`,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const urls = () => JSON.stringify(bed.nodes.map((node) => node.url));

beforeAll(async () => {
  bed = await startBed(3);
});
afterAll(async () => {
  for (const node of bed.nodes) if (node.paused) node.resume();
  await Promise.all(instances.map((instance) => instance.quit().catch(() => {})));
  for (const client of clients) client.disconnect();
  await closeBed(bed);
  await teardownAll();
});

test("a subscription a paused node confirms late is ended: no redlock:* channel is left", async () => {
  const holder = redlock();
  const waiterSide = redlock({ nodeTimeout: 300, retryDelay: 100 });
  const held = await holder.acquire(["leak:sub"], 30_000);
  const paused = bed.nodes[2]!;
  const subscribes = async () => {
    const info = String(await respCall(paused, "INFO", "commandstats"));
    return Number(/^cmdstat_subscribe:calls=(\d+)/m.exec(info)?.[1] ?? 0);
  };
  const before = await subscribes();
  paused.pause();
  try {
    const waiting = waiterSide.acquire(["leak:sub"], 5000, { retryCount: -1 });
    // The two live nodes listen; the paused one cannot confirm within nodeTimeout.
    await eventually(async () => {
      const [, count] = (await respCall(
        bed.nodes[0]!,
        "PUBSUB",
        "NUMSUB",
        "redlock:released:leak:sub",
      )) as [string, number];
      return count > 0;
    });
    await held.release();
    const lock = await waiting;
    await lock.release();
  } finally {
    paused.resume();
  }
  // The paused node now serves the subscription it could not confirm in time...
  await eventually(async () => (await subscribes()) > before);
  expect(await subscribes()).toBeGreaterThan(before);
  // ...which is ended as soon as it is confirmed.
  const channels = () =>
    Promise.all(bed.nodes.map((node) => respCall(node, "PUBSUB", "CHANNELS", "redlock:*")));
  await eventually(async () =>
    (await channels()).every((list) => Array.isArray(list) && list.length === 0),
  );
  expect(await channels()).toEqual([[], [], []]);
}, 30_000);

test("using(): a routine that returns while an extension is in flight leaves no timer behind", async () => {
  // The extension is slowed by 300 ms; the routine returns as soon as it is sent. A timer
  // re-armed after the call would keep this process alive for the 60 s duration.
  const { code, stdout, stderr } = await runChild(`
    const { Redis } = require("ioredis");
    const { Redlock, createIoredisRunner } = require("@redlock/ioredis");
    let extending;
    const sent = new Promise((resolve) => { extending = resolve; });
    const runners = ${urls()}.map((url) => {
      const runner = createIoredisRunner(new Redis(url));
      return {
        name: runner.name,
        quit: () => runner.quit(),
        run: async (script, keys, args, options) => {
          if (script.name === "extend") {
            extending();
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          return runner.run(script, keys, args, options);
        },
      };
    });
    const redlock = new Redlock(runners);
    (async () => {
      await redlock.using(["leak:using"], 60000, { automaticExtensionThreshold: 59000 }, async () => {
        await sent;
      });
      await redlock.quit();
      console.log("done");
    })();
  `);
  expect(stderr).toBe("");
  expect(stdout.trim()).toBe("done");
  expect(code).toBe(0);
}, 30_000);

test("a pending acquire keeps the process alive by itself (runners without sockets)", async () => {
  // A runner that never answers and holds no handle: only the library's timers are left.
  const { code, stdout } = await runChild(`
    const { Redlock } = require("@redlock/core");
    const silent = (name) => ({ name, run: () => new Promise(() => {}) });
    const redlock = new Redlock([silent("a"), silent("b"), silent("c")], {
      nodeTimeout: 100,
      retryCount: 2,
      retryDelay: 50,
    });
    redlock.acquire(["leak:alive"], 5000).then(
      () => console.log("acquired"),
      (error) => console.log(error.code),
    );
  `);
  expect(stdout.trim()).toBe("QUORUM_UNREACHABLE");
  expect(code).toBe(0);
}, 30_000);

test("onLockLost hooks and event listeners that reject do not crash the process", async () => {
  const { code, stdout, stderr } = await runChild(`
    const { Redis } = require("ioredis");
    const { Redlock } = require("@redlock/ioredis");
    const clients = ${urls()}.map((url) => new Redis(url));
    const redlock = new Redlock(clients, { retryDelay: 20 });
    redlock.on("lost", async () => { throw new Error("listener failed"); });
    redlock.on("acquired", () => Promise.reject(new Error("listener failed")));
    (async () => {
      const result = await redlock.using(
        ["leak:hook"],
        1000,
        { automaticExtensionThreshold: 800, onLockLost: async () => { throw new Error("hook failed"); } },
        async (signal) => {
          // Take the keys away so the first extension finds them gone.
          await Promise.all(clients.map((client) => client.del("leak:hook")));
          await new Promise((resolve) => signal.addEventListener("abort", resolve));
          return signal.error.code;
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      await redlock.quit();
      console.log(result);
    })();
  `);
  expect(stderr).toBe("");
  expect(stdout.trim()).toBe("LOCK_LOST");
  expect(code).toBe(0);
}, 30_000);

describe("hostile getters give InvalidArgumentError", () => {
  const throwing = (key: string) =>
    Object.defineProperty({}, key, {
      get() {
        throw new Error("boom");
      },
    });

  test("clock.now", () => {
    const clock = Object.assign(throwing("now"), { wallNow: Date.now, setTimeout, clearTimeout });
    expect(() => redlock({ clock: clock as never })).toThrow(InvalidArgumentError);
  });

  test("signal.aborted", async () => {
    const instance = redlock();
    const signal = Object.assign(throwing("aborted"), {
      addEventListener() {},
      removeEventListener() {},
    });
    await expect(
      instance.acquire(["leak:getter"], 1000, { signal: signal as never }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

test.each([["ioredis"], ["node-redis"]])(
  "%s: after a wait, closing the clients lets the process exit (no redlock.quit())",
  async (driver) => {
    const open =
      driver === "ioredis"
        ? `const { Redis } = require("ioredis");
           const clients = ${urls()}.map((url) => new Redis(url));
           const close = () => Promise.all(clients.map((c) => c.quit()));`
        : `const { createClient } = require("redis");
           const clients = ${urls()}.map((url) => createClient({ url }));
           const close = () => Promise.all(clients.map((c) => c.quit()));`;
    const { code, stdout, stderr } = await runChild(`
      ${open}
      const { Redlock } = require("@redlock/${driver}");
      (async () => {
        if (${driver === "node-redis"}) await Promise.all(clients.map((c) => c.connect()));
        const redlock = new Redlock(clients, { retryDelay: 5000 });
        const held = await redlock.acquire(["leak:exit:${driver}"], 10000);
        // A second holder-to-be waits, listening for the release.
        const waiting = redlock.acquire(["leak:exit:${driver}"], 10000);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await held.release();
        await (await waiting).release();
        await close();
        console.log("closed");
      })();
    `);
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe("closed");
    expect(code).toBe(0);
  },
  30_000,
);
