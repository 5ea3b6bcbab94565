import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { teardownAll } from "@redlock/testbed";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import {
  call,
  commandsSeen,
  type Database,
  eventually,
  resetDatabases,
  startDatabases,
} from "./helpers";

/**
 * The built package and a real @upstash/redis client, bundled into one Cloudflare worker and
 * run in workerd (Miniflare), acquiring and releasing a lock over the REST bridges on 127.0.0.1.
 */

const PACKAGE_DIR = resolve(__dirname, "..");
const DIST = join(PACKAGE_DIR, "dist", "index.js");

const workerSource = (client: string) => `
import { Redis } from "${client}";
import { Redlock } from "./dist/index.js";

export default {
  async fetch(_request, env, ctx) {
    const nodes = JSON.parse(env.NODES);
    const redlock = new Redlock(nodes.map((node) => new Redis(node)), { retryCount: 0 });
    const errors = [];
    redlock.on("error", (error) => errors.push(error.message));
    try {
      const lock = await redlock.acquire(["edge:job"], 5000);
      const { outcome, attempts } = await lock.release();
      // Keep the request alive until the slowest node has answered (and, after NOSCRIPT, was
      // sent EVAL): workerd drops what is still pending once the response is sent.
      ctx.waitUntil(Promise.all([...lock.attempts, ...attempts]));
      const names = [...redlock.runners].map((runner) => runner.name);
      return Response.json({ value: lock.value, outcome, names, errors });
    } catch (error) {
      return Response.json({ error: String(error), errors }, { status: 500 });
    }
  },
};
`;

async function bundle(client: string, allowed: readonly string[]): Promise<string> {
  const result = await build({
    stdin: { contents: workerSource(client), resolveDir: PACKAGE_DIR, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
  expect(imports.map((i) => i.path)).toEqual(allowed);
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no worker bundle");
  return file.text;
}

let databases: Database[];

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build @redlock/upstash first.`);
  databases = await startDatabases(3);
}, 30_000);
beforeEach(() => resetDatabases(databases));
afterAll(() => teardownAll());

test.each([
  ["@upstash/redis 1.39", "@upstash/redis/cloudflare", []],
  // crypto-js (its SHA-1) probes require("crypto") inside a try/catch and falls back.
  ["@upstash/redis 1.34", "@upstash/redis-1.34/cloudflare", ["crypto"]],
])(
  "%s in workerd acquires and releases a lock over three REST databases",
  async (_label, client, allowed) => {
    const nodes = databases.map(({ bridge }) => ({ url: bridge.url, token: bridge.token }));
    const mf = new Miniflare({
      modules: true,
      script: await bundle(client, allowed),
      compatibilityDate: "2025-09-01",
      bindings: { NODES: JSON.stringify(nodes) },
    });
    try {
      const response = await mf.dispatchFetch("http://localhost/");
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        value: expect.stringMatching(/^[0-9a-f]{32}$/),
        outcome: "released",
        names: databases.map(({ bridge }) => `upstash:${bridge.url}`),
        errors: [],
      });
      expect(response.status).toBe(200);
      // The worker answers at quorum; every database hears from it and ends up without the key.
      for (const { node, bridge } of databases) {
        const reached = () =>
          bridge.requests.some(
            (r) => r.status === 200 && JSON.stringify(r.body).includes(String(body.value)),
          );
        const released = async () => reached() && (await call(node, "EXISTS", "edge:job")) === 0;
        expect(await eventually(released)).toBe(true);
        expect(commandsSeen(bridge)[0]).toEqual(["evalsha"]);
      }
    } finally {
      await mf.dispose();
    }
  },
  60_000,
);
