/**
 * Base tsup options shared by every published package: ESM and CJS output with a
 * declaration file per format (`.d.ts` for import, `.d.cts` for require).
 * @type {import("tsup").Options}
 */
export const base = {
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: false,
  splitting: true,
  treeshake: true,
  target: "es2022",
  outDir: "dist",
};
