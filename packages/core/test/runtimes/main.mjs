import { runLifecycle } from "./lifecycle.mjs";

const result = await runLifecycle();
console.log(JSON.stringify(result));
if (!result.ok && globalThis.process) globalThis.process.exitCode = 1;
