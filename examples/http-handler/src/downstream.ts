/** What the downstream service did with one call. */
export interface LedgerEntry {
  order: string;
  outcome: "written" | "cancelled";
  afterMs: number;
}

/**
 * A slow downstream service (think payment provider or ledger) that honors `AbortSignal`: an
 * aborted call stops at once, writes nothing and rejects with the signal's reason.
 */
export class SlowLedger {
  readonly entries: LedgerEntry[] = [];

  write(order: string, ms: number, signal: AbortSignal): Promise<string> {
    const started = performance.now();
    const record = (outcome: LedgerEntry["outcome"]) =>
      this.entries.push({ order, outcome, afterMs: Math.round(performance.now() - started) });
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        record("cancelled");
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        record("written");
        resolve(`receipt-${order}-${this.entries.length}`);
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
