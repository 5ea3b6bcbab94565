import { base } from "@redlock/build-config/tsup";
import { defineConfig } from "tsup";

// ESM only: `cli` is the `redlock` binary (its shebang makes tsup mark it executable), `index`
// the small importable API (exit codes, duration parsing).
export default defineConfig({
  ...base,
  entry: { index: "src/index.ts", cli: "src/cli.ts" },
  format: ["esm"],
  dts: { entry: { index: "src/index.ts" } },
});
