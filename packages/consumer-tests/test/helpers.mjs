import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const fixtures = join(packageRoot, "fixtures");
export const repoRoot = join(packageRoot, "..", "..");

/** `npm install` as every consumer project runs it: offline first, no lock file, no scripts. */
export const NPM_INSTALL = [
  "install",
  "--no-audit",
  "--no-fund",
  "--prefer-offline",
  "--no-package-lock",
  "--ignore-scripts",
  "--loglevel=error",
];

/** Runs `command`; resolves with its output, rejects with it (and the exit status) on failure. */
export function run(command, args, cwd, timeout = 300_000, env = process.env) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024, shell: process.platform === "win32" },
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

export async function readJson(file) {
  return JSON.parse(await readFile(file, "utf8"));
}

/**
 * Packs workspace package `name` with `pnpm pack` into `destination`, so `workspace:` ranges
 * become versions; resolves with its directory, version, tarball and packed files.
 */
export async function pack(name, destination) {
  const dir = realpathSync(join(packageRoot, "node_modules", name));
  const { stdout } = await run("pnpm", ["pack", "--json", "--pack-destination", destination], dir);
  const report = JSON.parse(stdout);
  const { version } = await readJson(join(dir, "package.json"));
  return { dir, version, tarball: report.filename, files: report.files.map((file) => file.path) };
}

/** A throwaway project in `dir` with `dependencies` installed by npm. */
export async function project(dir, dependencies, manifest = { type: "module" }) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, ...manifest }, null, 2)}\n`,
  );
  await run("npm", [...NPM_INSTALL, ...dependencies], dir);
}
