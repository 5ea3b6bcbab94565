import { defineConfig } from "tsup";

export default defineConfig({
  entry: { worker: "src/worker.ts" },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: false,
  splitting: false,
  target: "node20",
  platform: "node",
  outDir: "dist",
});
