import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fixtures, pack, project, readJson, repoRoot, run } from "./helpers.mjs";

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

/**
 * `await using` on a lock of core and of each adapter (fixtures/disposable.ts) with neither
 * lib.esnext.disposable nor @types/node: tsconfig name → test title. The declarations core ships
 * for it merge with those of lib.esnext.disposable in the edge consumer and with those of
 * @types/node in the others, which use `await using` too.
 */
const DISPOSABLE = {
  disposable: 'lib ["ES2022", "DOM"]',
  "disposable-default-lib": "the default lib of target ES2022",
};

/** fixtures/misuse/<name>.ts, each one wrong client → what the first error line must name. */
const MISUSE = {
  "ioredis-given-node-redis-client": "IoredisClientOrRunner",
  "ioredis-given-node-redis-cluster": "IoredisClientOrRunner",
  "ioredis-given-upstash-client": "IoredisClientOrRunner",
  "ioredis-given-options": "IoredisClientOrRunner",
  "ioredis-given-url": "IoredisClientOrRunner",
  "node-redis-given-ioredis-client": "NodeRedisClientOrRunner",
  "node-redis-given-upstash-client": "NodeRedisClientOrRunner",
  "node-redis-given-options": "NodeRedisClientOrRunner",
  "node-redis-given-urls": "NodeRedisClientOrRunner",
  "upstash-given-ioredis-client": "UpstashClientOrRunner",
  "upstash-given-node-redis-client": "UpstashClientOrRunner",
  "upstash-given-options": "UpstashClientOrRunner",
};

/** Declaration files every consumer reaches (the edge consumer imports no Node-only driver). */
const DECLARATIONS = [
  "core/dist/index",
  "core/dist/testing",
  "upstash/dist/index",
  "test-suite/dist/index",
];
const NODE_DECLARATIONS = ["ioredis/dist/index", "node-redis/dist/index"];

let root;
let app;
let coreOnly;
/** name → { dir, version, tarball, files } */
const packed = {};

/** Runs the consumers' tsc in the app; resolves with its exit code and output, even on errors. */
function tsc(args) {
  const bin = join(app, "node_modules", "typescript", "bin", "tsc");
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: app, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? error.code : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** tsc's `--pretty false` output as file → errors, each error its lines (head, then details). */
function errorsByFile(output) {
  const files = new Map();
  let error;
  for (const line of output.split(/\r?\n/)) {
    const head = /^(.+?)\(\d+,\d+\): error TS\d+: /.exec(line);
    if (head) {
      error = [line];
      files.set(head[1], [...(files.get(head[1]) ?? []), error]);
    } else if (error && line.startsWith(" ")) {
      error.push(line);
    } else {
      error = undefined;
    }
  }
  return files;
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
  await Promise.all(
    Object.keys(PUBLISHED).map(async (name) => {
      packed[name] = await pack(name, root);
    }),
  );

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

describe("await using a lock", { concurrency: true }, () => {
  for (const [config, title] of Object.entries(DISPOSABLE)) {
    test(`${title}, no Node types (tsconfig.${config}.json)`, async () => {
      const { code, output } = await tsc(["-p", `tsconfig.${config}.json`, "--listFiles"]);
      const files = output.split(/\r?\n/);
      const errors = files.filter((line) => !line.startsWith("/")).join("\n");
      assert.equal(code, 0, `tsconfig.${config}.json does not compile:\n${errors}`);
      const loaded = (pattern) => files.some((file) => pattern.test(file));
      assert.ok(!loaded(/[\\/]@types[\\/]node[\\/]/), "@types/node is not loaded");
      assert.ok(!loaded(/lib\.esnext\.disposable\.d\.ts$/), "lib.esnext.disposable is not loaded");
    });
  }
});

describe("a wrong client fails to compile, and the first error line says what was expected", () => {
  let compiled;
  const compile = () => {
    compiled ??= tsc(["-p", "tsconfig.misuse.json", "--pretty", "false"]);
    return compiled;
  };

  test("every fixture in misuse/ is listed", async () => {
    const listed = await readdir(join(fixtures, "misuse"));
    assert.deepEqual(
      listed.map((file) => file.replace(/\.ts$/, "")).sort(),
      Object.keys(MISUSE).sort(),
    );
  });

  for (const [fixture, expected] of Object.entries(MISUSE)) {
    test(`${fixture}: names ${expected}`, async () => {
      const { code, output } = await compile();
      assert.notEqual(code, 0, "tsc reports the wrong clients");
      const errors = errorsByFile(output).get(`misuse/${fixture}.ts`) ?? [];
      assert.equal(errors.length, 1, `one error in misuse/${fixture}.ts; tsc printed:\n${output}`);
      const [lines] = errors;
      const text = lines.join("\n");
      assert.ok(lines[0].includes(expected), `the first line names ${expected}:\n${text}`);
      assert.ok(lines.length <= 3, `a short error, not a chain of driver types:\n${text}`);
      assert.doesNotMatch(text, /IteratorResult|\[Symbol\.iterator\]/, "no chain through Iterable");
    });
  }
});
