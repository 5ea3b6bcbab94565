import { defineConfig } from "tsup";

export default defineConfig({
  entry: { main: "src/main.ts", worker: "src/worker.ts", "bridge-host": "src/bridge-host.ts" },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: false,
  splitting: true,
  target: "node20",
  platform: "node",
  outDir: "dist",
});
