import { NodeError } from "../errors";
import type { NodeInspection, ResourceInspection } from "../inspection";
import { drift, quorum } from "../validity";
import type { InspectDetail } from "./replies";

/**
 * One resource's quorum view from every node's report (`reports[node]` is that node's detail
 * per key, or why it failed). `elapsed` is how long the replies took: a held resource's
 * validity is counted from when the request went out, like a lock's.
 */
export function summarizeInspection(
  resource: string,
  index: number,
  reports: readonly (readonly InspectDetail[] | Error | undefined)[],
  names: readonly string[],
  elapsed: number,
  driftFactor: number,
): ResourceInspection {
  const nodes: NodeInspection[] = reports.map((report, node) => {
    const name = names[node] as string;
    const detail = Array.isArray(report) ? (report[index] as InspectDetail | undefined) : undefined;
    if (!detail) {
      const error =
        report instanceof NodeError ? report : new NodeError(name, "no reply", { cause: report });
      return { node: name, state: "failed", ttl: 0, mine: false, error };
    }
    const state = detail.kind === 0 ? "free" : detail.kind === 1 ? "held" : "other";
    return { node: name, state, ttl: detail.ttl, mine: detail.mine };
  });
  const needed = quorum(nodes.length);
  const held = nodes.filter((node) => node.state === "held" || node.state === "other");
  const free = nodes.filter((node) => node.state === "free").length;
  const mine = nodes.filter((node) => node.mine).length >= needed;
  if (held.length >= needed) {
    // The quorum-th longest TTL: until then, a majority of nodes still holds it. A key without
    // expiry holds it for good.
    const ttls = held.map((node) => (node.ttl < 0 ? Number.POSITIVE_INFINITY : node.ttl));
    const least = ttls.sort((a, b) => b - a)[needed - 1] as number;
    const validity = Number.isFinite(least)
      ? Math.max(0, least - elapsed - drift(least, driftFactor))
      : Number.POSITIVE_INFINITY;
    return { resource, state: "held", mine, validity, nodes };
  }
  return { resource, state: free >= needed ? "free" : "unknown", mine: false, validity: 0, nodes };
}
