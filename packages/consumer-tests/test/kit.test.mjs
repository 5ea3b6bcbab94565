import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtures, pack, project, readJson, repoRoot, run } from "./helpers.mjs";

// The custom adapter example and its kit test, unchanged, in a project that has nothing but the
// packed @redlock/core and @redlock/test-suite (plus TypeScript to compile them), run by
// node:test against the kit's Redis target.

const example = join(repoRoot, "examples", "custom-adapter");
const keep = Boolean(process.env.REDLOCK_KEEP_CONSUMERS);

/** Why the kit cannot start Redis here, or undefined when it can. */
function noRedis() {
  if (process.env.REDIS_URLS || process.env.REDIS_SERVER_BIN) return undefined;
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "neither redis-server on PATH nor REDIS_URLS";
  }
}

/** This process's environment without node:test's marker, so the child reports plain TAP. */
function withoutTestContext() {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

const skip = noRedis();
let root;
let kit;

before(async () => {
  if (skip) return;
  root = await mkdtemp(join(tmpdir(), "redlock-kit-"));
  const packed = await Promise.all(
    ["@redlock/core", "@redlock/test-suite"].map((name) => pack(name, root)),
  );
  const { devDependencies } = await readJson(join(repoRoot, "package.json"));
  const tools = ["typescript", "@types/node"].map((tool) => `${tool}@${devDependencies[tool]}`);
  kit = join(root, "kit");
  // CommonJS, so the example's extensionless relative import resolves as it does under jest.
  await project(kit, [...packed.map((p) => p.tarball), ...tools], { type: "commonjs" });
  await cp(join(fixtures, "kit"), kit, { recursive: true });
  await cp(join(example, "src"), join(kit, "src"), { recursive: true });
  await mkdir(join(kit, "test"));
  await copyFile(
    join(example, "test", "conformance.test.ts"),
    join(kit, "test", "conformance.test.ts"),
  );
});

after(async () => {
  if (!root) return;
  if (keep) console.log(`kit project kept in ${root}`);
  else await rm(root, { recursive: true, force: true });
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    if (root && !keep) rmSync(root, { recursive: true, force: true });
    process.exit(1);
  });
}

test("the custom adapter example passes the kit from the packed packages", { skip }, async () => {
  const tsc = join(kit, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", "tsconfig.json"], kit, 120_000);
  const { stdout } = await run(
    process.execPath,
    [
      "--test-reporter=tap",
      "--require",
      "./build/globals.js",
      join("build", "test", "conformance.test.js"),
    ],
    kit,
    180_000,
    withoutTestContext(),
  );
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(stdout)?.[1]);
  assert.equal(count("fail"), 0, stdout);
  assert.ok(count("pass") >= 15, `most of the kit ran and passed:\n${stdout}`);
  // Skipped tests say why: the groups the example switches off, and the cluster it lacks.
  const skipped = stdout.split("\n").filter((line) => /^\s*ok \d+ - .* # SKIP/.test(line));
  assert.equal(skipped.length, count("skipped"));
  for (const line of skipped) {
    assert.match(line, /\[(groups\.\w+ is switched off|the target is no Redis Cluster)\]/);
  }
  assert.match(
    stdout,
    /^\s*ok \d+ - after quit\(\) a call settles, and no connection to the node stays open$/m,
  );
});
