import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

/**
 * The same lock lifecycle (test/runtimes/lifecycle.mjs) on the built dist, run under every
 * runtime core claims to support. Each case fails, never skips, when its runtime is missing.
 */

const PACKAGE_DIR = resolve(__dirname, "..");
const RUNTIMES_DIR = join(__dirname, "runtimes");
const ENTRY = join(RUNTIMES_DIR, "main.mjs");
const CASE_TIMEOUT = 60_000;
const PROCESS_TIMEOUT = 45_000;
const INSTALL_HINT =
  "it is a devDependency of @redlock/core: run `pnpm install` and make sure its postinstall " +
  "is allowed under allowBuilds in pnpm-workspace.yaml";

const WORKER_ENTRY = `
import { runLifecycle } from "./lifecycle.mjs";
export default {
  async fetch() {
    return Response.json(await runLifecycle());
  },
};
`;

interface LifecycleReport {
  runtime: string;
  version: string;
  ok: boolean;
  failed: string[];
  error?: string;
  checks: Record<string, boolean>;
  ms: number;
}

function binary(name: string): string {
  const path = join(PACKAGE_DIR, "node_modules", ".bin", name);
  if (!existsSync(path)) {
    throw new Error(`The ${name} binary was not found at ${path}; ${INSTALL_HINT}.`);
  }
  return path;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: PACKAGE_DIR,
        env: { ...process.env, NO_COLOR: "1", ...env },
        timeout: PROCESS_TIMEOUT,
        maxBuffer: 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${args.join(" ")} failed (${error.code ?? error.signal ?? error.message})\n` +
                `stdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        } else {
          resolvePromise(stdout);
        }
      },
    );
  });
}

function parseReport(output: string): LifecycleReport {
  const line = output
    .split("\n")
    .map((text) => text.trim())
    .filter((text) => text.startsWith("{"))
    .pop();
  if (!line) throw new Error(`The lifecycle printed no JSON report. Output:\n${output}`);
  return JSON.parse(line) as LifecycleReport;
}

function expectPassed(report: LifecycleReport, runtime: string): void {
  expect(report).toMatchObject({ runtime, ok: true, failed: [] });
  expect(report.error).toBeUndefined();
  expect(Object.keys(report.checks).length).toBeGreaterThan(0);
}

/** The lifecycle and the dist it imports as one self-contained ES module worker. */
async function bundleWorker(): Promise<string> {
  const result = await build({
    stdin: {
      contents: WORKER_ENTRY,
      resolveDir: RUNTIMES_DIR,
      sourcefile: "worker.mjs",
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
  expect(imports).toEqual([]);
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no worker bundle");
  return file.text;
}

beforeAll(() => {
  for (const file of ["index.js", "testing.js"]) {
    const path = join(PACKAGE_DIR, "dist", file);
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: build @redlock/core (npx tsup) before this test.`);
    }
  }
});

describe("the built dist runs the full lifecycle", () => {
  test(
    "on Node",
    async () => {
      expectPassed(parseReport(await run(process.execPath, [ENTRY])), "node");
    },
    CASE_TIMEOUT,
  );

  test(
    "on Bun",
    async () => {
      const bun = binary("bun");
      expectPassed(parseReport(await run(bun, ["run", "--no-install", ENTRY])), "bun");
    },
    CASE_TIMEOUT,
  );

  test(
    "on Deno, with no permissions",
    async () => {
      const deno = binary("deno");
      const args = [
        "run",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-remote",
        "--no-npm",
        ENTRY,
      ];
      const output = await run(deno, args, { DENO_NO_UPDATE_CHECK: "1" });
      expectPassed(parseReport(output), "deno");
    },
    CASE_TIMEOUT,
  );

  test(
    "on Cloudflare workerd (Miniflare), bundled without Node built-ins",
    async () => {
      const script = await bundleWorker();
      const mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-09-01" });
      try {
        const response = await mf.dispatchFetch("http://localhost/");
        const body = await response.text();
        expect(response.status).toBe(200);
        expectPassed(parseReport(body), "workerd");
      } finally {
        await mf.dispose();
      }
    },
    CASE_TIMEOUT,
  );
});
