import {
  InvalidArgumentError,
  type NodeInspection,
  type ResourceInspection,
} from "@redlock/ioredis";
import type { StatusOptions } from "./args";
import { formatDuration } from "./duration";
import { EXIT_CODES } from "./exit-codes";
import { connect, disconnect, type Nodes } from "./nodes";
import type { LineWriter, Reporter } from "./reporter";

/** One node's report as `status --json` prints it: a failure is its code and message. */
export interface NodeStatusJson {
  readonly node: string;
  readonly state: NodeInspection["state"];
  readonly ttl: number;
  readonly mine: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/** One resource as `status --json` prints it; `validity` is `null` for a key without expiry. */
export interface ResourceStatusJson {
  readonly resource: string;
  readonly state: ResourceInspection["state"];
  readonly mine: boolean;
  readonly validity: number | null;
  readonly nodes: readonly NodeStatusJson[];
}

/**
 * `redlock status`: what the nodes hold for each resource (`Redlock.inspect`), as a table or as
 * one JSON object on stdout. Lock values are never read. Node failures show as state `failed`
 * (and `unknown` for the resource when too many failed); they do not change the exit status.
 */
export async function statusCommand(
  options: StatusOptions,
  reporter: Reporter,
  out: LineWriter,
): Promise<number> {
  let nodes: Nodes;
  try {
    nodes = connect(options.nodes);
  } catch (error) {
    return inspectFailure(error, reporter);
  }
  try {
    const inspections = await nodes.redlock.inspect(options.resources);
    if (options.json) {
      out(`${JSON.stringify({ resources: inspections.map(toJson) })}\n`);
    } else {
      out(formatTable(inspections));
      for (const failure of nodeFailures(inspections)) reporter.problem("node-error", failure);
    }
    return 0;
  } catch (error) {
    return inspectFailure(error, reporter);
  } finally {
    await disconnect(nodes);
  }
}

/** Report an error of `inspect` (or of the node list) and choose the exit status. */
function inspectFailure(error: unknown, reporter: Reporter): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof InvalidArgumentError) {
    reporter.problem("usage", message, { reason: error.reason });
    return EXIT_CODES.usage;
  }
  reporter.problem("error", `unexpected error: ${message}`);
  return EXIT_CODES.software;
}

/** An inspection as JSON can hold it. */
export function toJson(inspection: ResourceInspection): ResourceStatusJson {
  return {
    resource: inspection.resource,
    state: inspection.state,
    mine: inspection.mine,
    validity: Number.isFinite(inspection.validity) ? inspection.validity : null,
    nodes: inspection.nodes.map((node) => ({
      node: node.node,
      state: node.state,
      ttl: node.ttl,
      mine: node.mine,
      ...(node.error ? { error: { code: node.error.code, message: node.error.message } } : {}),
    })),
  };
}

/**
 * The table of `redlock status`: one row per resource with its state, how long it stays held at
 * least, and how the nodes answered.
 */
export function formatTable(inspections: readonly ResourceInspection[]): string {
  const rows = [
    ["RESOURCE", "STATE", "VALIDITY", "NODES"],
    ...inspections.map((inspection) => [
      inspection.resource,
      inspection.state,
      inspection.state === "held" ? formatDuration(inspection.validity) : "-",
      nodeSummary(inspection.nodes),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}

/** How many nodes report each state: `held 3/3`, `held 2/3, failed 1/3`. */
function nodeSummary(nodes: readonly NodeInspection[]): string {
  const counts = new Map<string, number>();
  for (const node of nodes) counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
  return [...counts].map(([state, count]) => `${state} ${count}/${nodes.length}`).join(", ");
}

/** One line per node that failed, once per node (its error names it). */
function nodeFailures(inspections: readonly ResourceInspection[]): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const inspection of inspections) {
    for (const node of inspection.nodes) {
      if (!node.error || seen.has(node.node)) continue;
      seen.add(node.node);
      lines.push(node.error.message);
    }
  }
  return lines;
}
