import { readFileSync } from "node:fs";
import { join } from "node:path";

// The README shows this example verbatim; keep them from drifting apart.
test("the README's adapter guide shows the example's code and test unchanged", () => {
  const readme = readFileSync(join(__dirname, "../../../README.md"), "utf8");
  for (const file of ["../src/resp-runner.ts", "conformance.test.ts"]) {
    const code = readFileSync(join(__dirname, file), "utf8");
    expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
  }
});

test("the README's per-adapter quick starts are the examples' code", () => {
  const readme = readFileSync(join(__dirname, "../../../README.md"), "utf8");
  for (const example of ["quickstart-node-redis", "quickstart-upstash"]) {
    const code = readFileSync(join(__dirname, `../../${example}/src/main.ts`), "utf8");
    const snippet = code.split("// snippet:start\n")[1]?.split("// snippet:end")[0];
    expect(snippet).toBeDefined();
    expect(readme).toContain(`\`\`\`ts\n${snippet}\`\`\``);
  }
});
