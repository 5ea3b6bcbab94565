import type { Attributes, HrTime } from "@opentelemetry/api";
import { DataPointType, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

const ms = ([seconds, nanos]: HrTime) => Math.round(seconds * 1000 + nanos / 1e6);
const attrs = (attributes: Attributes) =>
  Object.entries(attributes)
    .map(([key, value]) => `${key.replace(/^redlock\./, "")}=${value}`)
    .join(" ");

export function printSpans(spans: readonly ReadableSpan[]): void {
  console.log(`spans (${spans.length}):`);
  for (const span of [...spans].sort((a, b) => ms(a.startTime) - ms(b.startTime))) {
    const status = span.status.code === 2 ? "ERROR" : "ok";
    const events = span.events.filter((e) => e.name !== "exception").map((e) => e.name);
    console.log(
      `  ${span.name.padEnd(37)} ${String(ms(span.duration)).padStart(4)} ms  ${status.padEnd(5)} ` +
        attrs(span.attributes) +
        (events.length ? `  events: ${events.join(", ")}` : ""),
    );
  }
}

/** Prints the last export and returns each counter's total. */
export function printMetrics(exports: readonly ResourceMetrics[]): Record<string, number> {
  const totals: Record<string, number> = {};
  const metrics = exports.at(-1)?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
  console.log("metrics:");
  for (const metric of metrics) {
    const { name, unit } = metric.descriptor;
    for (const point of metric.dataPoints) {
      const labels = Object.keys(point.attributes).length ? ` {${attrs(point.attributes)}}` : "";
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const { count, sum, min, max } = point.value as {
          count: number;
          sum?: number;
          min?: number;
          max?: number;
        };
        const round = (n?: number) => Math.round(n ?? 0);
        console.log(
          `  ${name}${labels}: count ${count}, min ${round(min)} ${unit}, ` +
            `max ${round(max)} ${unit}, sum ${round(sum)} ${unit}`,
        );
      } else {
        const value = point.value as number;
        totals[name] = (totals[name] ?? 0) + value;
        console.log(`  ${name}${labels}: ${value}`);
      }
    }
  }
  return totals;
}
