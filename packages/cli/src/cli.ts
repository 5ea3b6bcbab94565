#!/usr/bin/env node
import { EXIT_CODES } from "./exit-codes";
import { main } from "./main";

// The `redlock` binary: exit with main's status, without waiting for anything left open.
main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`redlock: unexpected error: ${String(error)}\n`);
    process.exit(EXIT_CODES.software);
  },
);
