import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { build, type Plugin, transform } from "esbuild";

/**
 * The published files must stay runtime-agnostic: every import, require() or import() in dist
 * points at one of core's own relative chunks, never at `node:` or any other module.
 */

const DIST = resolve(__dirname, "..", "dist");
const CODE_FILE = /\.c?js$/;
const CHUNK = /^\.\/(chunk-[\w-]+\.c?js)$/;
const ENTRY_POINTS = ["index.js", "index.cjs", "testing.js", "testing.cjs"];
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

interface Specifier {
  path: string;
  kind: string;
}

function distFiles(): string[] {
  if (!existsSync(DIST)) return [];
  return readdirSync(DIST)
    .filter((file) => CODE_FILE.test(file))
    .sort();
}

/** Every module specifier in `file`, found by esbuild's parser (all marked external). */
async function parsedSpecifiers(
  file: string,
): Promise<{ specifiers: Specifier[]; warnings: string[] }> {
  const specifiers: Specifier[] = [];
  const record: Plugin = {
    name: "record-specifiers",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        specifiers.push({ path: args.path, kind: args.kind });
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [join(DIST, file)],
    bundle: true,
    write: false,
    platform: "neutral",
    format: file.endsWith(".cjs") ? "cjs" : "esm",
    logLevel: "silent",
    plugins: [record],
  });
  return { specifiers, warnings: result.warnings.map((warning) => warning.text) };
}

/** Every `require(` and `import(` call in the comment-free code, with what follows it. */
async function callSites(file: string): Promise<string[]> {
  const source = readFileSync(join(DIST, file), "utf8");
  const { code } = await transform(source, {
    loader: "js",
    format: file.endsWith(".cjs") ? "cjs" : "esm",
    minify: true,
    legalComments: "none",
  });
  return [...code.matchAll(/\b(?:require|import)\s*\([^)]*\)?/g)].map((match) => match[0]);
}

const files = distFiles();

test("dist holds the ESM and CJS entry points and a shared chunk", () => {
  if (files.length === 0) throw new Error(`${DIST} has no .js/.cjs files: run \`npx tsup\` first.`);
  expect(files).toEqual(expect.arrayContaining(ENTRY_POINTS));
  expect(files.some((file) => file.startsWith("chunk-"))).toBe(true);
});

if (files.length > 0) {
  describe.each(files)("dist/%s", (file) => {
    test("imports nothing but its own relative chunks", async () => {
      const { specifiers, warnings } = await parsedSpecifiers(file);
      expect(warnings).toEqual([]);

      const builtins = specifiers.filter(
        ({ path }) => BUILTINS.has(path) || path.startsWith("node:"),
      );
      expect(builtins).toEqual([]);

      const foreign = specifiers.filter(({ path }) => !CHUNK.test(path));
      expect(foreign).toEqual([]);

      const extension = file.endsWith(".cjs") ? ".cjs" : ".js";
      for (const { path } of specifiers) {
        expect(path.endsWith(extension)).toBe(true);
        expect(existsSync(join(DIST, path))).toBe(true);
      }
      if (ENTRY_POINTS.includes(file)) expect(specifiers.length).toBeGreaterThan(0);
    });

    test("has no require() or import() call except of a chunk", async () => {
      const calls = await callSites(file);
      const other = calls.filter(
        (call) => !/^(?:require|import)\s*\(\s*(["'`])\.\/chunk-[\w-]+\.c?js\1\s*\)$/.test(call),
      );
      expect(other).toEqual([]);
    });
  });
}
