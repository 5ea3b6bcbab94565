import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { realpathSync, rmSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(packageRoot, "fixtures");
const repoRoot = join(packageRoot, "..", "..");

/** Every published package, and the driver each adapter takes as a peer. */
const PUBLISHED = {
  "@redlock/core": null,
  "@redlock/ioredis": "ioredis",
  "@redlock/node-redis": "redis",
  "@redlock/upstash": "@upstash/redis",
  "@redlock/test-suite": null,
};

/** TypeScript consumers: tsconfig name → the declaration flavours it must load, and only those. */
const TYPESCRIPT = {
  node16: [".d.ts", ".d.cts"],
  nodenext: [".d.ts", ".d.cts"],
  bundler: [".d.ts"],
  node10: [".d.cts"],
  edge: [".d.ts"],
};

/** Declaration files every consumer reaches (the edge consumer imports no Node-only driver). */
const DECLARATIONS = [
  "core/dist/index",
  "core/dist/testing",
  "upstash/dist/index",
  "test-suite/dist/index",
];
const NODE_DECLARATIONS = ["ioredis/dist/index", "node-redis/dist/index"];

const NPM_INSTALL = [
  "install",
  "--no-audit",
  "--no-fund",
  "--prefer-offline",
  "--no-package-lock",
  "--ignore-scripts",
  "--loglevel=error",
];

let root;
let app;
let coreOnly;
/** name → { dir, version, tarball, files } */
const packed = {};

function run(command, args, cwd, timeout = 300_000) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout, maxBuffer: 64 * 1024 * 1024, shell: process.platform === "win32" },
      (error, stdout, stderr) => {
        if (error) {
          error.message = `${command} ${args.join(" ")} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`;
          reject(error);
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

async function readJson(file) {
  return JSON.parse(await readFile(file, "utf8"));
}

async function pack(name) {
  const dir = realpathSync(join(packageRoot, "node_modules", name));
  const { stdout } = await run("pnpm", ["pack", "--json", "--pack-destination", root], dir);
  const report = JSON.parse(stdout);
  const { version } = await readJson(join(dir, "package.json"));
  packed[name] = {
    dir,
    version,
    tarball: report.filename,
    files: report.files.map((file) => file.path),
  };
}

async function project(dir, dependencies) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  await run("npm", [...NPM_INSTALL, ...dependencies], dir);
}

const keep = Boolean(process.env.REDLOCK_KEEP_CONSUMERS);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    if (root && !keep) rmSync(root, { recursive: true, force: true });
    process.exit(1);
  });
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "redlock-consumers-"));
  await Promise.all(Object.keys(PUBLISHED).map(pack));

  const rootManifest = await readJson(join(repoRoot, "package.json"));
  const drivers = [];
  for (const [name, driver] of Object.entries(PUBLISHED)) {
    if (driver === null) continue;
    const { devDependencies } = await readJson(join(packed[name].dir, "package.json"));
    drivers.push(`${driver}@${devDependencies[driver]}`);
  }
  const tools = ["typescript", "@types/node"].map(
    (tool) => `${tool}@${rootManifest.devDependencies[tool]}`,
  );

  app = join(root, "app");
  coreOnly = join(root, "core-only");
  await Promise.all([
    project(app, [...Object.values(packed).map((p) => p.tarball), ...drivers, ...tools]),
    project(coreOnly, [packed["@redlock/core"].tarball]),
  ]);
  await cp(fixtures, app, { recursive: true });
});

after(async () => {
  if (!root) return;
  if (keep) {
    console.log(`consumer projects kept in ${root}`);
  } else {
    await rm(root, { recursive: true, force: true });
  }
});

describe("packed packages", () => {
  for (const name of Object.keys(PUBLISHED)) {
    test(`${name}: manifest and files`, async () => {
      const { version, files } = packed[name];
      const text = await readFile(join(app, "node_modules", name, "package.json"), "utf8");
      const manifest = JSON.parse(text);
      assert.doesNotMatch(text, /workspace:/, "workspace: ranges are replaced by versions");
      assert.equal(manifest.version, version);
      assert.equal(manifest.engines?.node, ">=20");
      assert.equal(manifest.type, "module");
      assert.equal(manifest.sideEffects, false);
      for (const file of files) {
        assert.match(file, /^(dist\/.+|package\.json|README\.md|LICENSE.*)$/, `unexpected ${file}`);
      }
      for (const file of ["index.js", "index.cjs", "index.d.ts", "index.d.cts"]) {
        assert.ok(files.includes(`dist/${file}`), `dist/${file} is packed`);
      }
      for (const range of Object.values({
        ...manifest.dependencies,
        ...manifest.peerDependencies,
      })) {
        assert.doesNotMatch(range, />=\s*\d+(\.\d+)*\s*$/, `open-ended range ${range}`);
      }
    });
  }

  test("@redlock/core has no dependencies", async () => {
    const manifest = await readJson(
      join(coreOnly, "node_modules", "@redlock", "core", "package.json"),
    );
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      assert.deepEqual(Object.keys(manifest[field] ?? {}), [], `${field} of @redlock/core`);
    }
    const installed = (await readdir(join(coreOnly, "node_modules"))).filter(
      (entry) => !entry.startsWith("."),
    );
    assert.deepEqual(installed, ["@redlock"]);
    assert.deepEqual(await readdir(join(coreOnly, "node_modules", "@redlock")), ["core"]);
  });

  test("adapters share the one installed @redlock/core", async () => {
    for (const name of Object.keys(PUBLISHED)) {
      if (name === "@redlock/core") continue;
      const nested = await readdir(join(app, "node_modules", name)).catch(() => []);
      assert.ok(!nested.includes("node_modules"), `${name} installed its own dependencies`);
    }
  });
});

describe("runtime", { concurrency: true }, () => {
  test("ESM: import { Redlock } from each package", async () => {
    const { stdout } = await run(process.execPath, ["esm.mjs"], app, 60_000);
    assert.match(stdout, /esm: ok/);
  });

  test('CommonJS: require("<package>").Redlock, without .default', async () => {
    const { stdout } = await run(process.execPath, ["cjs.cjs"], app, 60_000);
    assert.match(stdout, /cjs: ok/);
  });

  test("every exported subpath: the same names from import and require", async () => {
    const names = Object.keys(PUBLISHED);
    const { stdout } = await run(process.execPath, ["entry-points.cjs", ...names], app, 60_000);
    assert.match(stdout, /entry points: \d+ ok/);
  });
});

describe("TypeScript consumers", { concurrency: true }, () => {
  for (const [config, extensions] of Object.entries(TYPESCRIPT)) {
    test(`strict typecheck with tsconfig.${config}.json`, async () => {
      const tsc = join(app, "node_modules", "typescript", "bin", "tsc");
      const { stdout } = await run(
        process.execPath,
        [tsc, "-p", `tsconfig.${config}.json`, "--listFiles"],
        app,
        120_000,
      );
      const loaded = stdout
        .split(/\r?\n/)
        .filter((line) => line.includes("/node_modules/@redlock/"));
      const declarations = (extension) =>
        loaded
          .filter((file) => file.endsWith(extension))
          .map((file) => file.split("/@redlock/")[1]);
      for (const extension of [".d.ts", ".d.cts"]) {
        const files = declarations(extension);
        if (extensions.includes(extension)) {
          const expected =
            config === "edge" ? DECLARATIONS : [...DECLARATIONS, ...NODE_DECLARATIONS];
          for (const file of expected) {
            assert.ok(files.includes(`${file}${extension}`), `${config} loads ${file}${extension}`);
          }
        } else {
          assert.deepEqual(files, [], `no ${extension} files under ${config}`);
        }
      }
    });
  }
});
