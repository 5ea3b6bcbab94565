/** Where a reporter writes its lines. */
export type LineWriter = (line: string) => void;

/** Fields of a JSON event line; the event name is added as `event`. */
export type EventFields = Readonly<Record<string, unknown>>;

/** Writes `redlock`'s progress and errors to stderr, one line each. */
export interface Reporter {
  /** A progress line, left out with `--quiet`. */
  progress(event: string, text: string, fields?: EventFields): void;
  /** An error or an outcome worth knowing; always written. */
  problem(event: string, text: string, fields?: EventFields): void;
}

/** How a reporter writes. */
export interface ReporterOptions {
  /** One JSON object per line (`{"event":"acquired",…}`) instead of `redlock: …` text. */
  readonly json: boolean;
  /** Leave progress lines out. */
  readonly quiet?: boolean;
  /** Defaults to stderr. */
  readonly write?: LineWriter;
}

/** Writes a line to stderr. */
export const writeStderr: LineWriter = (line) => {
  process.stderr.write(line);
};

/**
 * A reporter. Text lines read `redlock: <text>`; JSON lines carry the event, its fields and, for
 * problems, the text as `message`. Messages never span lines.
 */
export function createReporter(options: ReporterOptions): Reporter {
  const write = options.write ?? writeStderr;
  const line = (event: string, text: string, fields: EventFields, message: boolean) => {
    const oneLine = text.replace(/\s*\n\s*/g, " ");
    write(
      options.json
        ? `${JSON.stringify({ event, ...fields, ...(message ? { message: oneLine } : {}) })}\n`
        : `redlock: ${oneLine}\n`,
    );
  };
  return {
    progress(event, text, fields = {}) {
      if (!options.quiet) line(event, text, fields, false);
    },
    problem(event, text, fields = {}) {
      line(event, text, fields, true);
    },
  };
}
