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
export type HelpTopic = "main" | "run" | "semaphore" | "status";

/** How `redlock run` waits when someone else holds the lock (or the permits). */
export type WaitPolicy =
  /** The library's default retry schedule (about 2 s). */
  | { readonly kind: "default" }
  /** One try (`--no-wait`). */
  | { readonly kind: "none" }
  /** Keep trying for up to `ms` (`--wait`). */
  | { readonly kind: "until"; readonly ms: number };

/**
 * The options that `redlock run` and `redlock semaphore run` share: where the nodes are, what to
 * hold and for how long, how to wait, how to report, and the command to run.
 */
export interface HoldOptions {
  readonly nodes: readonly string[];
  readonly resources: readonly string[];
  /** The TTL of the lock (or of the permits) in ms. */
  readonly ttl: number;
  readonly wait: WaitPolicy;
  readonly json: boolean;
  readonly quiet: boolean;
  /** Milliseconds between SIGTERM and SIGKILL when the lock (or the permits) is lost. */
  readonly grace: number;
  /** The command and its arguments. */
  readonly command: readonly string[];
}

/** The options of `redlock run`. */
export interface RunOptions extends HoldOptions {
  readonly fencing: boolean;
}

/** The options of `redlock semaphore run`: one resource, the semaphore's. */
export interface SemaphoreRunOptions extends HoldOptions {
  /** The most permits held at once. */
  readonly limit: number;
  /** The permits to take, from 1 to `limit`. */
  readonly permits: number;
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
  | { readonly command: "semaphore-run"; readonly options: SemaphoreRunOptions };

/** The shortest `--ttl`: shorter locks leave too little time to extend them. */
export const MIN_TTL = 500;

/** The default `--grace`. */
export const DEFAULT_GRACE = 10_000;

/** The environment variable read when `--nodes` is absent. */
export const NODES_ENV = "REDLOCK_NODES";

/** The default `--permits`. */
export const DEFAULT_PERMITS = 1;

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

// `--fencing` is parsed only to be refused with a reason: semaphores have no fencing tokens.
const SEMAPHORE_RUN_OPTIONS = {
  ...RUN_OPTIONS,
  limit: { type: "string" },
  permits: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** The flags that `run` and `semaphore run` share, as `parseArgs` returns them. */
interface HoldFlags {
  readonly nodes?: string | undefined;
  readonly resource?: string[] | undefined;
  readonly ttl?: string | undefined;
  readonly wait?: string | undefined;
  readonly "no-wait"?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly quiet?: boolean | undefined;
  readonly grace?: string | undefined;
}

/** The tokens of a parsed command line (`parseArgs` with `tokens: true`). */
type Tokens = NonNullable<ReturnType<typeof parseArgs>["tokens"]>;

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
      return parseSemaphore(rest, env);
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
  if (name === "run" || name === "semaphore" || name === "status") return name;
  throw new UsageError(`no help on ${JSON.stringify(name)}: try run, semaphore or status.`, "main");
}

/** `redlock semaphore SUBCOMMAND …`: `run` is the only subcommand. */
function parseSemaphore(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Invocation {
  const [subcommand, ...rest] = args;
  if (subcommand === "-h" || subcommand === "--help") {
    return { command: "help", topic: "semaphore" };
  }
  if (subcommand === undefined) {
    throw new UsageError('no semaphore command given: try "redlock semaphore run".', "semaphore");
  }
  if (subcommand !== "run") {
    throw new UsageError(
      `unknown semaphore command ${JSON.stringify(subcommand)}: try "redlock semaphore run".`,
      "semaphore",
    );
  }
  return wantsHelp(rest)
    ? { command: "help", topic: "semaphore" }
    : { command: "semaphore-run", options: parseSemaphoreRun(rest, env) };
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
  return {
    ...holdOptions(args, tokens, values, env, "run"),
    fencing: values.fencing === true,
  };
}

/** Parse the arguments of `redlock semaphore run`: `run`'s, one resource, a limit, permits. */
function parseSemaphoreRun(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SemaphoreRunOptions {
  const topic = "semaphore";
  const { values, tokens } = parse({ args: [...args], options: SEMAPHORE_RUN_OPTIONS }, topic);
  if (values.fencing) {
    throw new UsageError(
      "--fencing is for locks: a semaphore's holders run side by side, with no fencing token.",
      topic,
    );
  }
  const options = holdOptions(args, tokens, values, env, topic);
  if (options.resources.length > 1) {
    throw new UsageError(
      `a semaphore is one resource: give one --resource, not ${options.resources.length}.`,
      topic,
    );
  }
  if (values.limit === undefined) throw new UsageError("--limit is required.", topic);
  const limit = count("--limit", values.limit, topic);
  const permits =
    values.permits === undefined ? DEFAULT_PERMITS : count("--permits", values.permits, topic);
  if (permits > limit) {
    throw new UsageError(
      `--permits ${permits} is more than --limit ${limit}: at most ${limit} permits can be held.`,
      topic,
    );
  }
  return { ...options, limit, permits };
}

/**
 * The options that `run` and `semaphore run` share, from their parsed flags: the command after
 * `--` (and no other positional argument), the TTL, the wait policy, resources, nodes, output.
 */
function holdOptions(
  args: readonly string[],
  tokens: Tokens,
  values: HoldFlags,
  env: Readonly<Record<string, string | undefined>>,
  topic: "run" | "semaphore",
): HoldOptions {
  const name = topic === "run" ? "redlock run" : "redlock semaphore run";
  const terminator = tokens.find((token) => token.kind === "option-terminator");
  const stray = tokens.find(
    (token) => token.kind === "positional" && (!terminator || token.index < terminator.index),
  );
  if (stray?.kind === "positional") {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(stray.value)}: put the command after "--", as in ` +
        `"${name} … -- command args".`,
      topic,
    );
  }
  const command = terminator ? args.slice(terminator.index + 1) : [];
  if (command.length === 0 || command[0] === "") {
    throw new UsageError('no command to run: give it after "--".', topic);
  }
  if (values.ttl === undefined) throw new UsageError("--ttl is required.", topic);
  const ttl = duration("--ttl", values.ttl, topic);
  if (ttl < MIN_TTL) {
    throw new UsageError(`--ttl must be at least ${MIN_TTL}ms, to leave time to extend.`, topic);
  }
  return {
    nodes: nodeUrls(values.nodes, env, topic),
    resources: resources(values.resource, topic),
    ttl,
    wait: waitPolicy(values.wait, values["no-wait"] === true, topic),
    json: values.json === true,
    quiet: values.quiet === true,
    grace: values.grace === undefined ? DEFAULT_GRACE : duration("--grace", values.grace, topic),
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
function waitPolicy(wait: string | undefined, noWait: boolean, topic: HelpTopic): WaitPolicy {
  if (wait !== undefined && noWait) {
    throw new UsageError("--wait and --no-wait exclude each other.", topic);
  }
  if (noWait) return { kind: "none" };
  if (wait === undefined) return { kind: "default" };
  return { kind: "until", ms: duration("--wait", wait, topic) };
}

/** The duration given to `flag`. */
function duration(flag: string, text: string, topic: HelpTopic): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`, topic);
  }
}

/** The number of permits given to `flag`: a whole number from 1. */
function count(flag: string, text: string, topic: HelpTopic): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `${flag}: ${JSON.stringify(text)} is not a whole number of permits from 1.`,
      topic,
    );
  }
  return n;
}

/** At least one resource name. */
function resources(names: readonly string[] | undefined, topic: HelpTopic): string[] {
  if (!names || names.length === 0) {
    throw new UsageError(
      topic === "run"
        ? "no resource: give one or more --resource NAME."
        : topic === "semaphore"
          ? "no resource: give the semaphore's --resource NAME."
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
