import { readFileSync } from "node:fs";
import { join } from "node:path";

// docs/adapters.md shows this example verbatim; keep them from drifting apart.
const adapterGuide = () => readFileSync(join(__dirname, "../../../docs/adapters.md"), "utf8");

test("the adapter guide shows the example's code and test unchanged", () => {
  const guide = adapterGuide();
  for (const file of ["../src/resp-runner.ts", "conformance.test.ts"]) {
    const code = readFileSync(join(__dirname, file), "utf8");
    expect(guide).toContain(`\`\`\`ts\n${code}\`\`\``);
  }
});

test("the adapter guide's per-adapter quick starts are the examples' code", () => {
  const guide = adapterGuide();
  for (const example of [
    "quickstart-node-redis",
    "quickstart-upstash",
    "quickstart-valkey-glide",
    "quickstart-bun",
  ]) {
    const code = readFileSync(join(__dirname, `../../${example}/src/main.ts`), "utf8");
    const snippet = code.split("// snippet:start\n")[1]?.split("// snippet:end")[0];
    expect(snippet).toBeDefined();
    expect(guide).toContain(`\`\`\`ts\n${snippet}\`\`\``);
  }
});

// Core's TSDoc shows the runner as its example; the kit run in conformance.test.ts proves it.
test("core's ScriptRunner and createScriptRunner examples are the example's runner", () => {
  const runner = readFileSync(join(__dirname, "../src/resp-runner.ts"), "utf8");
  const code = runner.slice(runner.indexOf("export function createRespRunner"));
  for (const file of ["script-runner.ts", "adapter/script-runner.ts"]) {
    const source = readFileSync(join(__dirname, `../../../packages/core/src/${file}`), "utf8");
    const examples = [...source.matchAll(/ \* ```ts\n((?: \*.*\n)*?) \* ```/g)].map((match) =>
      (match[1] as string).replace(/^ \*(?: |$)/gm, ""),
    );
    expect(examples).toContain(code);
  }
});
