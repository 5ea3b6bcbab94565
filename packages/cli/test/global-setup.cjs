const { execFileSync } = require("node:child_process");
const { existsSync, readdirSync, statSync } = require("node:fs");
const { dirname, join } = require("node:path");

/** Newest modification time among the files in `dir` (recursively). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * The tests run the built binary (`node dist/cli.js`): build it when it is missing or older than
 * its sources (turbo builds it before the tests, so this is for `jest` run by hand).
 */
module.exports = function globalSetup() {
  const root = join(__dirname, "..");
  const cli = join(root, "dist", "cli.js");
  const sources = Math.max(
    newest(join(root, "src")),
    statSync(join(root, "package.json")).mtimeMs,
    statSync(join(root, "tsup.config.ts")).mtimeMs,
  );
  if (existsSync(cli) && statSync(cli).mtimeMs >= sources) return;
  const tsup = join(
    dirname(require.resolve("tsup/package.json", { paths: [root] })),
    "dist",
    "cli-default.js",
  );
  execFileSync(process.execPath, [tsup, "--silent"], { cwd: root, stdio: "inherit" });
};
