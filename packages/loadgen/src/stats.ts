/** Counting outcomes and latency percentiles of a set of HTTP calls. */
export interface CallResult {
  ok: boolean;
  status: number;
  /** The error `code` from the body (e.g. DW_DB_POOL_EXHAUSTED), or a network error name. */
  error?: string;
  ms: number;
}

export interface CallSummary {
  total: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(results: CallResult[]): CallSummary {
  const ms = results.map((r) => r.ms);
  const errors: Record<string, number> = {};
  for (const r of results) if (!r.ok) errors[r.error ?? `HTTP ${r.status}`] = (errors[r.error ?? `HTTP ${r.status}`] ?? 0) + 1;
  const round = (n: number) => Math.round(n);
  return {
    total: results.length,
    ok: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    errors,
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(percentile(ms, 95)),
    p99Ms: round(percentile(ms, 99)),
    maxMs: round(ms.length ? Math.max(...ms) : 0),
  };
}
