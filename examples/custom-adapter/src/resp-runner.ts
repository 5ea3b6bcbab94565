import { NodeUnreachableError } from "@redlock/core";
import { createScriptRunner, type RunnerOptions, runnerSettings } from "@redlock/core/adapter";
import { RespConnection } from "./resp-connection";

/**
 * A runner over one raw RESP connection: the driver's part only (how to send a command, how to
 * close, when it is closed). `createScriptRunner` adds the rest: reply timeout, core's abort
 * signal, `EVALSHA` with the `EVAL` fallback, errors wrapped in `NodeError` without lock values.
 */
export function createRespRunner(host: string, port: number, options?: RunnerOptions) {
  const connection = new RespConnection(host, port);
  const settings = runnerSettings(options, () => `redis://${host}:${port}`);
  let closed = false;
  return createScriptRunner({
    settings,
    send: (command, script, keys, args) =>
      connection.call([
        command,
        command === "EVAL" ? script.source : script.sha1,
        keys.length,
        ...keys,
        ...args,
      ]),
    // Calls after quit() fail at once instead of opening a new connection.
    unreachable: () =>
      closed ? new NodeUnreachableError(settings.name, "the runner was closed") : undefined,
    quit: () => {
      closed = true;
      return connection.quit();
    },
  });
}
