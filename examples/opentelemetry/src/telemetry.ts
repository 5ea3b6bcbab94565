import { metrics, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  ExecutionError,
  type Redlock,
  RedlockError,
  type UsingRoutine,
  type UsingSettings,
} from "@redlock/ioredis";

/**
 * Lock events as OpenTelemetry metrics, and `using()` calls as spans. Only `@opentelemetry/api`
 * is used here: without an SDK everything is a no-op; the application installs the providers.
 */
export function instrument(redlock: Redlock) {
  const tracer = trace.getTracer("redlock");
  const meter = metrics.getMeter("redlock");
  const acquired = meter.createCounter("redlock.locks.acquired", { description: "Locks taken" });
  const released = meter.createCounter("redlock.locks.released", { description: "Releases" });
  const lost = meter.createCounter("redlock.locks.lost", { description: "Locks lost mid-work" });
  const errors = meter.createCounter("redlock.node.errors", { description: "Node failures" });
  const holdTime = meter.createHistogram("redlock.lock.hold_time", { unit: "ms" });
  // Keyed by lock value, which extensions keep.
  const heldSince = new Map<string, number>();
  const spans = new Map<string, Span>();

  redlock.on("acquired", (lock) => {
    acquired.add(1);
    heldSince.set(lock.value, performance.now());
  });
  redlock.on("extended", (lock) => spans.get(lock.value)?.addEvent("extended"));
  redlock.on("lost", (lock, error) => {
    lost.add(1);
    spans.get(lock.value)?.addEvent("lost", { "exception.message": error.message });
  });
  redlock.on("released", (lock, result) => {
    released.add(1, { outcome: result.outcome });
    const since = heldSince.get(lock.value);
    heldSince.delete(lock.value);
    if (since !== undefined)
      holdTime.record(performance.now() - since, { outcome: result.outcome });
    spans.get(lock.value)?.setAttribute("redlock.release.outcome", result.outcome);
  });
  redlock.on("error", (error) => errors.add(1, { node: error.node, code: error.code }));

  /** `redlock.using()` in a span from acquisition to release. */
  async function using<T>(
    resources: string[],
    duration: number,
    settings: UsingSettings,
    routine: UsingRoutine<T>,
  ): Promise<T> {
    const span = tracer.startSpan(`redlock.using ${resources.join(",")}`, {
      attributes: { "redlock.resources.count": resources.length },
    });
    let value: string | undefined;
    try {
      const result = await redlock.using(resources, duration, settings, (signal, context) => {
        value = context.lock.value;
        spans.set(value, span);
        span.setAttribute("redlock.attempts", context.lock.attempts.length);
        return routine(signal, context);
      });
      span.setAttribute("redlock.outcome", "ok");
      return result;
    } catch (error) {
      if (error instanceof ExecutionError)
        span.setAttribute("redlock.attempts", error.attempts.length);
      span.setAttribute("redlock.outcome", error instanceof RedlockError ? error.code : "error");
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      if (value !== undefined) spans.delete(value);
      span.end();
    }
  }

  return { using };
}
