import { readFileSync } from "node:fs";
import { join } from "node:path";

const dist = join(__dirname, "..", "dist");

/** Every module `file` in dist loads, following relative imports (shared chunks). */
function loadedModules(file: string): string[] {
  const external = new Set<string>();
  const queue = [file];
  const seen = new Set<string>();
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    const code = readFileSync(join(dist, next), "utf8");
    for (const [, specifier] of code.matchAll(
      /(?:from|import|require\()\s*\(?\s*["']([^"']+)["']/g,
    )) {
      if (specifier!.startsWith("./")) queue.push(specifier!.slice(2));
      else external.add(specifier!);
    }
  }
  return [...external].sort();
}

test("the root entry loads nothing but @redlock/core and its adapter entry: no Node built-ins", () => {
  for (const file of ["index.js", "index.cjs"]) {
    expect(loadedModules(file)).toEqual(["@redlock/core", "@redlock/core/adapter"]);
  }
});

test("the redis entry is the Node-only one", () => {
  for (const file of ["redis.js", "redis.cjs"]) {
    expect(loadedModules(file)).toEqual(
      expect.arrayContaining(["child_process", "net", "timers/promises"]),
    );
  }
});
