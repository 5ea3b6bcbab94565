const { execFileSync } = require("node:child_process");
const { readdirSync, statSync, existsSync } = require("node:fs");
const { join, dirname } = require("node:path");

/** Newest modification time among the files in `dir` (recursively). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Build the worker program when it is missing or older than its sources (turbo builds it first). */
module.exports = function globalSetup() {
  const root = join(__dirname, "..");
  const worker = join(root, "dist", "worker.js");
  const sources = Math.max(
    newest(join(root, "src")),
    statSync(join(root, "tsup.config.ts")).mtimeMs,
  );
  if (existsSync(worker) && statSync(worker).mtimeMs >= sources) return;
  const tsup = join(
    dirname(require.resolve("tsup/package.json", { paths: [root] })),
    "dist",
    "cli-default.js",
  );
  execFileSync(process.execPath, [tsup, "--silent"], { cwd: root, stdio: "inherit" });
};
