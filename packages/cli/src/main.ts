import { version } from "../package.json";
import { parseInvocation, UsageError, wantsJson } from "./args";
import { EXIT_CODES } from "./exit-codes";
import { helpHint, helpText } from "./help";
import { createReporter, type LineWriter, writeStderr } from "./reporter";
import { runCommand } from "./run";
import { semaphoreRunCommand } from "./semaphore";
import { statusCommand } from "./status";

/** Where `redlock` reads its environment and writes its output. */
export interface MainIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout: help, version, the status table. */
  readonly out: LineWriter;
  /** stderr: progress and errors. */
  readonly err: LineWriter;
}

const processIo: MainIo = {
  env: process.env,
  out: (line) => {
    process.stdout.write(line);
  },
  err: writeStderr,
};

/**
 * Run `redlock` with `argv` (the arguments after the script's path).
 * @returns the exit status
 */
export async function main(argv: readonly string[], io: MainIo = processIo): Promise<number> {
  let invocation: ReturnType<typeof parseInvocation>;
  try {
    invocation = parseInvocation(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const reporter = createReporter({ json: wantsJson(argv), write: io.err });
    reporter.problem("usage", `${error.message} (${helpHint(error.topic)})`);
    return EXIT_CODES.usage;
  }
  switch (invocation.command) {
    case "help":
      io.out(helpText(invocation.topic));
      return 0;
    case "version":
      io.out(`${version}\n`);
      return 0;
    case "run": {
      const { json, quiet } = invocation.options;
      return runCommand(invocation.options, createReporter({ json, quiet, write: io.err }), io.env);
    }
    case "semaphore-run": {
      const { json, quiet } = invocation.options;
      const reporter = createReporter({ json, quiet, write: io.err });
      return semaphoreRunCommand(invocation.options, reporter, io.env);
    }
    case "status": {
      const reporter = createReporter({ json: invocation.options.json, write: io.err });
      return statusCommand(invocation.options, reporter, io.out);
    }
  }
}
