import { base } from "@redlock/build-config/tsup";
import { defineConfig } from "tsup";

export default defineConfig({
  ...base,
  entry: { index: "src/index.ts" },
});
