import type { HelpTopic } from "./args";
import { EXIT_CODES } from "./exit-codes";

const USAGE = `Usage:
  redlock run --resource NAME --ttl DURATION [options] -- COMMAND [ARG...]
  redlock semaphore run --limit N [--permits P] --resource NAME --ttl DURATION [options]
                        -- COMMAND [ARG...]
  redlock status [--json] RESOURCE...
  redlock help [run | semaphore | status]
  redlock --version`;

const NODES = `Nodes (run, semaphore run and status):
  --nodes URL,URL,...   The Redis nodes: comma-separated redis:// or rediss:// URLs
                        (redis://user:password@host:6379/0). Default: $REDLOCK_NODES.
                        Use independent servers, an odd number of them (3 or 5); a lock
                        needs a majority. Passwords are never printed.`;

const RUN = `redlock run: take the lock, run COMMAND while holding it, release it.
  -r, --resource NAME   A resource to lock; repeat it to lock several, all or nothing.
  --ttl DURATION        The lock's time to live (at least 500ms). While COMMAND runs, the
                        lock is extended when a third of it is left, so a crashed redlock
                        lets it go within DURATION.
  --wait DURATION       When someone else holds the lock, keep trying for up to DURATION;
                        a release is noticed at once.
  --no-wait             One try: when someone else holds the lock, exit ${EXIT_CODES.busy} at once.
                        With neither, retry for about 2 s (10 retries 200 ms +/- 100 ms apart).
  --fencing             Give the lock a fencing token, in REDLOCK_FENCING_TOKEN.
  --grace DURATION      When the lock is lost: SIGTERM to COMMAND, then SIGKILL after
                        DURATION (default 10s).
  --json                Progress and errors on stderr as JSON objects, one per line
                        ({"event":"acquired",...}).
  -q, --quiet           Only errors on stderr.
  -h, --help            This help.
  COMMAND runs directly, not through a shell, with stdin, stdout and stderr inherited,
  after "--". SIGINT, SIGTERM and SIGHUP sent to redlock are forwarded to it. In its
  environment:
    REDLOCK_RESOURCE       the resources, comma-separated
    REDLOCK_EXPIRES_AT     the lock's expiry when COMMAND started, in ms since the epoch
                           (extensions move the real expiry later; this value is not updated)
    REDLOCK_FENCING_TOKEN  the fencing token, with --fencing
  The lock's value (its secret) is never passed on or printed.`;

const STATUS = `redlock status: what the nodes hold for each RESOURCE; changes nothing.
  -r, --resource NAME   A resource to look at (the same as giving it as an argument).
  --json                One JSON object on stdout: {"resources":[{"resource","state",
                        "mine","validity","nodes":[{"node","state","ttl","mine","error"}]}]}
                        (validity null: a key without expiry).
  -h, --help            This help.
  State: held (by a majority of nodes), free (on a majority) or unknown (too many nodes
  failed or they disagree). VALIDITY: how long a majority holds it at least. Exits 0
  whatever the state.`;

const SEMAPHORE = `redlock semaphore run: take P permits of the semaphore NAME, of which at most N are
held at once, run COMMAND while holding them, give them back. The same as redlock run (its
flags, signals, exit statuses and output) except:
  --limit N             How many permits may be held at once: a whole number from 1.
                        Required. Every process of one semaphore must give the same N.
  --permits P           Permits to take, all or nothing: 1 to N (default 1). While one
                        holder has all N, no one else gets in.
  -r, --resource NAME   The semaphore: exactly one. A lock on the same NAME excludes it.
  --fencing             Refused: a semaphore's holders run side by side, with no token.
  Busy (exit ${EXIT_CODES.busy}): fewer than P permits were free (after the wait, if any).
  A grant needs more than nodes x N / (N + 1) of the nodes: with 3 nodes and N of 2 or
  more, every node must answer. In COMMAND's environment, REDLOCK_RESOURCE and
  REDLOCK_EXPIRES_AT as for run, and:
    REDLOCK_SEMAPHORE_LIMIT  N
    REDLOCK_PERMITS          P`;

const DURATIONS = "Durations: 500ms, 30s, 1.5m, 1h, or plain milliseconds.";

const EXIT = `Exit status of redlock run and redlock semaphore run: COMMAND's own status, or 128 + N
when signal N ended it (130 for SIGINT), as a shell reports it. Otherwise:
  ${EXIT_CODES.usage}   usage: bad flags or arguments; nothing was sent
  ${EXIT_CODES.unreachable}   unreachable: too many nodes failed, or answered too late, for a quorum
  ${EXIT_CODES.software}   internal error
  ${EXIT_CODES.busy}   busy: someone else holds the lock, or too few permits are free (after the
       wait, if any)
  ${EXIT_CODES.lost}   lost: the lock (or the permits) was lost while COMMAND ran; COMMAND was stopped
  ${EXIT_CODES.cannotExecute}  COMMAND could not be executed
  ${EXIT_CODES.notFound}  COMMAND was not found
  128+N  redlock was interrupted by signal N while waiting for the lock (or the permits)
redlock status exits 0, or ${EXIT_CODES.usage} on bad usage.`;

const HEADER =
  "redlock: run a command under a Redlock distributed lock or semaphore, and inspect locks.";

const TEXTS: Readonly<Record<HelpTopic, string>> = Object.freeze({
  main: [HEADER, USAGE, NODES, RUN, STATUS, SEMAPHORE, DURATIONS, EXIT].join("\n\n"),
  run: [USAGE, NODES, RUN, DURATIONS, EXIT].join("\n\n"),
  semaphore: [USAGE, NODES, RUN, SEMAPHORE, DURATIONS, EXIT].join("\n\n"),
  status: [USAGE, NODES, STATUS].join("\n\n"),
});

/** The help text of `topic`, ending with a newline. */
export function helpText(topic: HelpTopic): string {
  return `${TEXTS[topic]}\n`;
}

/** The one-line hint printed after a usage error. */
export function helpHint(topic: HelpTopic): string {
  return topic === "main" ? "see redlock --help" : `see redlock ${topic} --help`;
}
