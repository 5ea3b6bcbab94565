import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseDuration } from "./duration";

/** A problem with the command line; `redlock` exits with the usage status. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The help topic that explains the right usage. */
  readonly topic: HelpTopic;

  constructor(message: string, topic: HelpTopic) {
    super(message);
    this.topic = topic;
  }
}

/** What `redlock help` can describe. */
export type HelpTopic = "main" | "run" | "status";

/** How `redlock run` waits when someone else holds the lock. */
export type WaitPolicy =
  /** The library's default retry schedule (about 2 s). */
  | { readonly kind: "default" }
  /** One try (`--no-wait`). */
  | { readonly kind: "none" }
  /** Keep trying for up to `ms` (`--wait`). */
  | { readonly kind: "until"; readonly ms: number };

/** The options of `redlock run`. */
export interface RunOptions {
  readonly nodes: readonly string[];
  readonly resources: readonly string[];
  /** The lock's TTL in ms. */
  readonly ttl: number;
  readonly wait: WaitPolicy;
  readonly fencing: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
  /** Milliseconds between SIGTERM and SIGKILL when the lock is lost. */
  readonly grace: number;
  /** The command and its arguments. */
  readonly command: readonly string[];
}

/** The options of `redlock status`. */
export interface StatusOptions {
  readonly nodes: readonly string[];
  readonly resources: readonly string[];
  readonly json: boolean;
}

/** A parsed command line. */
export type Invocation =
  | { readonly command: "help"; readonly topic: HelpTopic }
  | { readonly command: "version" }
  | { readonly command: "run"; readonly options: RunOptions }
  | { readonly command: "status"; readonly options: StatusOptions }
  | { readonly command: "semaphore" };

/** The shortest `--ttl`: shorter locks leave too little time to extend them. */
export const MIN_TTL = 500;

/** The default `--grace`. */
export const DEFAULT_GRACE = 10_000;

/** The environment variable read when `--nodes` is absent. */
export const NODES_ENV = "REDLOCK_NODES";

const RUN_OPTIONS = {
  nodes: { type: "string" },
  resource: { type: "string", short: "r", multiple: true },
  ttl: { type: "string" },
  wait: { type: "string" },
  "no-wait": { type: "boolean" },
  fencing: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  grace: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const STATUS_OPTIONS = {
  nodes: { type: "string" },
  resource: { type: "string", short: "r", multiple: true },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/**
 * Parse `redlock`'s arguments (without the node and script paths).
 * @param argv the arguments
 * @param env the environment, for `REDLOCK_NODES`
 * @throws {UsageError} the arguments do not make a command
 */
export function parseInvocation(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Invocation {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError("no command given.", "main");
    case "-h":
    case "--help":
      return { command: "help", topic: "main" };
    case "help":
      return { command: "help", topic: helpTopic(rest[0]) };
    case "-V":
    case "--version":
      return { command: "version" };
    case "run":
      return wantsHelp(rest)
        ? { command: "help", topic: "run" }
        : { command: "run", options: parseRun(rest, env) };
    case "status":
      return wantsHelp(rest)
        ? { command: "help", topic: "status" }
        : { command: "status", options: parseStatus(rest, env) };
    case "semaphore":
      return { command: "semaphore" };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}.`, "main");
  }
}

/** Does the command line ask for JSON output (`--json` before any `--`)? */
export function wantsJson(argv: readonly string[]): boolean {
  return ownArguments(argv).includes("--json");
}

/** The arguments before the first `--`: the rest belongs to the command to run. */
function ownArguments(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf("--");
  return end < 0 ? argv : argv.slice(0, end);
}

/** Is `-h` or `--help` among a subcommand's own arguments? */
function wantsHelp(args: readonly string[]): boolean {
  const own = ownArguments(args);
  return own.includes("--help") || own.includes("-h");
}

/** The topic of `redlock help [topic]`. */
function helpTopic(name: string | undefined): HelpTopic {
  if (name === undefined) return "main";
  if (name === "run" || name === "status") return name;
  throw new UsageError(`no help on ${JSON.stringify(name)}: try run or status.`, "main");
}

/** `parseArgs`, with its errors turned into usage errors for `topic`. */
function parse<T extends ParseArgsConfig>(config: T, topic: HelpTopic) {
  try {
    return parseArgs({ ...config, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message, topic);
  }
}

/** Parse the arguments of `redlock run`. */
function parseRun(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): RunOptions {
  const { values, tokens } = parse({ args: [...args], options: RUN_OPTIONS }, "run");
  const terminator = tokens.find((token) => token.kind === "option-terminator");
  const stray = tokens.find(
    (token) => token.kind === "positional" && (!terminator || token.index < terminator.index),
  );
  if (stray?.kind === "positional") {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(stray.value)}: put the command after "--", as in ` +
        '"redlock run … -- command args".',
      "run",
    );
  }
  const command = terminator ? args.slice(terminator.index + 1) : [];
  if (command.length === 0 || command[0] === "") {
    throw new UsageError('no command to run: give it after "--".', "run");
  }
  if (values.ttl === undefined) throw new UsageError("--ttl is required.", "run");
  const ttl = duration("--ttl", values.ttl, "run");
  if (ttl < MIN_TTL) {
    throw new UsageError(`--ttl must be at least ${MIN_TTL}ms, to leave time to extend.`, "run");
  }
  return {
    nodes: nodeUrls(values.nodes, env, "run"),
    resources: resources(values.resource, "run"),
    ttl,
    wait: waitPolicy(values.wait, values["no-wait"] === true),
    fencing: values.fencing === true,
    json: values.json === true,
    quiet: values.quiet === true,
    grace: values.grace === undefined ? DEFAULT_GRACE : duration("--grace", values.grace, "run"),
    command,
  };
}

/** Parse the arguments of `redlock status`: resources as arguments or `--resource`. */
function parseStatus(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): StatusOptions {
  const { values, tokens } = parse({ args: [...args], options: STATUS_OPTIONS }, "status");
  // In the order given, whether as arguments or with --resource.
  const names = tokens.flatMap((token) =>
    token.kind === "positional" || (token.kind === "option" && token.name === "resource")
      ? [token.value as string]
      : [],
  );
  return {
    nodes: nodeUrls(values.nodes, env, "status"),
    resources: resources(names, "status"),
    json: values.json === true,
  };
}

/** `--wait D`, `--no-wait`, or neither. */
function waitPolicy(wait: string | undefined, noWait: boolean): WaitPolicy {
  if (wait !== undefined && noWait) {
    throw new UsageError("--wait and --no-wait exclude each other.", "run");
  }
  if (noWait) return { kind: "none" };
  if (wait === undefined) return { kind: "default" };
  return { kind: "until", ms: duration("--wait", wait, "run") };
}

/** The duration given to `flag`. */
function duration(flag: string, text: string, topic: HelpTopic): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`, topic);
  }
}

/** At least one resource name. */
function resources(names: readonly string[] | undefined, topic: HelpTopic): string[] {
  if (!names || names.length === 0) {
    throw new UsageError(
      topic === "run"
        ? "no resource: give one or more --resource NAME."
        : "no resource: give one or more resource names.",
      topic,
    );
  }
  return [...names];
}

/**
 * The node URLs of `--nodes`, or else of `REDLOCK_NODES`: comma-separated `redis://` or
 * `rediss://` URLs. A bad entry is named by its position, never echoed: it may hold a password.
 */
function nodeUrls(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  topic: HelpTopic,
): string[] {
  const list = flag ?? env[NODES_ENV];
  const source = flag === undefined ? NODES_ENV : "--nodes";
  const urls = (list ?? "")
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url !== "");
  if (urls.length === 0) {
    throw new UsageError(
      `no Redis nodes: pass --nodes redis://host:port,… or set ${NODES_ENV}.`,
      topic,
    );
  }
  urls.forEach((url, i) => {
    if (!isRedisUrl(url)) {
      throw new UsageError(
        `${source}: entry ${i + 1} of ${urls.length} is not a redis:// or rediss:// URL with a host.`,
        topic,
      );
    }
  });
  return urls;
}

/** Is `text` a `redis://` or `rediss://` URL with a host? */
function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
  } catch {
    return false;
  }
}
