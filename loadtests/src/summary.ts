/**
 * The figures both pool-exhaustion scripts print — the k6 script (pool-exhaustion.js, which repeats this
 * layout in plain JS because k6 cannot import TypeScript) and the Node twin. A test feeds the same figures
 * to both formatters and expects the same table.
 */
import type { CallSummary } from '@dual-write/loadgen';
import type { ThresholdVerdict } from './thresholds.ts';

/** Error kinds as the k6 script can count them (it needs one counter per kind, declared up front). */
export const ERROR_KINDS = ['DW_DB_POOL_EXHAUSTED', 'DW_DB_UNAVAILABLE', 'DW_PUBLISH_FAILED', 'DW_VALIDATION', 'timeout', 'network', 'HTTP_4xx', 'HTTP_5xx'] as const;

export const ROWS = ['orders', 'unrelated', 'login', 'products'] as const;
export type RowName = (typeof ROWS)[number];

export interface RowFigures {
  total: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Failed calls by error kind (see errorKind). */
  errors: Record<string, number>;
}

export interface Figures {
  tool: 'node' | 'k6';
  strategy: string;
  latencyMs: number;
  burst: number;
  rows: Record<RowName, RowFigures>;
  thresholds: ThresholdVerdict[];
}

/**
 * loadgen's error keys in the k6 script's vocabulary: a DW_* code stays as it is, `HTTP 503` becomes
 * `HTTP_5xx`, `client timeout` becomes `timeout`, `network: …` becomes `network`.
 */
export function errorKind(key: string): string {
  if (key === 'client timeout') return 'timeout';
  if (key.startsWith('network')) return 'network';
  const http = /^HTTP (\d)\d\d$/.exec(key);
  if (http) return `HTTP_${http[1]}xx`;
  return key;
}

export function rowFigures(s: CallSummary): RowFigures {
  const errors: Record<string, number> = {};
  for (const [key, n] of Object.entries(s.errors)) errors[errorKind(key)] = (errors[errorKind(key)] ?? 0) + n;
  return { total: s.total, ok: s.ok, failed: s.failed, p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, errors };
}

function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors).filter(([, n]) => n > 0);
  if (entries.length === 0) return '–';
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return entries.map(([k, n]) => `${k} ${n}`).join(', ');
}

function formatActual(v: ThresholdVerdict): string {
  return v.expr.startsWith('rate') ? v.actual.toFixed(4) : `${Math.round(v.actual)} ms`;
}

/** The summary: one header line, a table (orders, unrelated, login, products), the threshold verdicts. */
export function formatSummary(f: Figures): string {
  const header = ['endpoint', 'requests', 'ok', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'];
  const labels: Record<RowName, string> = { orders: 'orders', unrelated: 'unrelated', login: '  login', products: '  products' };
  const cells = ROWS.map((name) => {
    const r = f.rows[name];
    return [labels[name], String(r.total), String(r.ok), String(r.failed), String(Math.round(r.p50Ms)), String(Math.round(r.p95Ms)), String(Math.round(r.p99Ms)), formatErrors(r.errors)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join(' │ ')
      .trimEnd();
  const sep = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const crossed = f.thresholds.filter((t) => !t.ok).length;
  const lines = [
    `pool exhaustion · strategy ${f.strategy} · kafka latency ${f.latencyMs} ms · burst ${f.burst} · ${f.tool}`,
    '',
    line(header),
    sep,
    ...cells.map(line),
    '',
    'thresholds (the unrelated endpoints must stay healthy):',
    ...f.thresholds.map((t) => `  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expr} (actual ${formatActual(t)})`),
    crossed
      ? `${crossed} of ${f.thresholds.length} thresholds crossed: the slow broker took the unrelated endpoints down`
      : `all ${f.thresholds.length} thresholds passed: the unrelated endpoints stayed healthy`,
  ];
  return lines.join('\n');
}
