import { base } from "@redlock/build-config/tsup";
import { defineConfig } from "tsup";

// ESM only: the package runs under Bun, which imports ES modules natively.
export default defineConfig({
  ...base,
  format: ["esm"],
  entry: { index: "src/index.ts" },
});
