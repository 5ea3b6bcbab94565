import { fileURLToPath } from "node:url";
import { resolveRedis, respCall, startUpstashBridge } from "@redlock/testbed";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

// Three Redis nodes, each behind a local Upstash REST bridge standing in for an Upstash database.
// REDIS_URLS if set, otherwise three throwaway local redis-server processes.
const redis = await resolveRedis(3);
const { urls } = redis;
const stop = () => redis.close();
const bridges = await Promise.all(urls.map((redisUrl) => startUpstashBridge({ redisUrl })));
const call = (url: string, ...args: string[]) => {
  const { hostname, port } = new URL(url);
  return respCall({ host: hostname, port: Number(port) }, ...args);
};
await call(urls[0]!, "DEL", "edge:report:runs", "edge:report:settled");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Bundle the worker as Wrangler would and run it in workerd.
const bundle = await build({
  entryPoints: [fileURLToPath(new URL("./worker.ts", import.meta.url))],
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  conditions: ["workerd", "worker", "browser"],
  target: "es2022",
  write: false,
  logLevel: "warning",
});
const script = bundle.outputFiles[0]!.text;
const nodes = bridges.map((bridge) => ({ url: bridge.url, token: bridge.token }));
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2025-09-01",
  bindings: { NODES: JSON.stringify(nodes) },
});
await mf.ready;
console.log(`worker bundled (${(script.length / 1024).toFixed(1)} KiB), ${nodes.length} databases`);

const get = async (path: string) => {
  const response = await mf.dispatchFetch(`http://worker.local${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
// Four requests for the same job at once, and one that will not wait while the job is running.
const queued = [1, 2, 3, 4].map(() => get("/run?job=report"));
while (!(await call(urls[0]!, "EXISTS", "edge:report"))) await sleep(2);
const impatient = await get("/run?job=report&wait=0");
const results = await Promise.all(queued);
for (const [i, { status, body }] of results.entries()) {
  console.log(`request ${i + 1}: ${status} ${JSON.stringify(body)}`);
}
console.log(`request 5 (wait=0): ${impatient.status} ${JSON.stringify(impatient.body)}`);

const runs = Number(await call(urls[0]!, "GET", "edge:report:runs"));
// After its response, each request finishes its releases under waitUntil(), then counts itself
// as settled. Only then are the lock keys sure to be gone.
const settled = async () => Number(await call(urls[0]!, "GET", "edge:report:settled"));
const giveUpAt = Date.now() + 30_000;
while ((await settled()) < 5 && Date.now() < giveUpAt) await sleep(5);
const done = await settled();
const exists = await Promise.all(urls.map((url) => call(url, "EXISTS", "edge:report")));
const left = exists.reduce<number>((sum, n) => sum + Number(n), 0);
console.log(`counter: ${runs} (expected 4); lock keys left on the databases: ${left}`);

await mf.dispose();
await Promise.all(bridges.map((bridge) => bridge.close()));
await call(urls[0]!, "DEL", "edge:report:runs", "edge:report:settled");
await stop();
const served = results.map((r) => r.body.run).sort();
if (done < 5) console.log(`only ${done} of 5 requests finished their background work`);
const ok =
  runs === 4 && done === 5 && left === 0 && served.join() === "1,2,3,4" && impatient.status === 409;
console.log(ok ? "all checks passed" : "FAILED");
if (!ok) process.exitCode = 1;
