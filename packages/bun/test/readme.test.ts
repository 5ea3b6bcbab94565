import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// The README's quick start is the example that CI runs (examples/quickstart-bun).
test("the README's quick start is the example's code", () => {
  const readme = readFileSync(join(import.meta.dir, "../README.md"), "utf8");
  const example = readFileSync(
    join(import.meta.dir, "../../../examples/quickstart-bun/src/main.ts"),
    "utf8",
  );
  const snippet = example.split("// snippet:start\n")[1]?.split("// snippet:end")[0];
  expect(snippet).toBeDefined();
  expect(readme).toContain(`\`\`\`ts\n${snippet}\`\`\``);
});
