/**
 * Summary and thresholds of the order-load scripts (orders-steady, orders-burst): valid orders must succeed,
 * malformed ones must each be refused with a 4xx and a `code`. The k6 scripts declare exactly ORDERS_THRESHOLDS.
 */
import { MALFORMED_KINDS, type OrdersLoadResult } from './orders-load.ts';
import { rowFigures } from './summary.ts';
import type { ThresholdVerdict } from './thresholds.ts';

interface OrdersThreshold {
  metric: string;
  expr: string;
  measure(r: OrdersLoadResult): number;
  ok(actual: number): boolean;
}

export const ORDERS_THRESHOLDS: readonly OrdersThreshold[] = [
  { metric: 'http_req_failed{kind:valid}', expr: 'rate<0.01', measure: (r) => (r.valid.total ? r.valid.failed / r.valid.total : 0), ok: (v) => v < 0.01 },
  { metric: 'http_req_duration{kind:valid}', expr: 'p(99)<1000', measure: (r) => r.valid.p99Ms, ok: (v) => v < 1000 },
  {
    metric: 'malformed_rejected',
    expr: 'rate==1',
    measure: (r) => {
      const all = MALFORMED_KINDS.map((k) => r.malformed[k]);
      const total = all.reduce((a, m) => a + m.total, 0);
      return total ? all.reduce((a, m) => a + m.rejected, 0) / total : 1;
    },
    ok: (v) => v === 1,
  },
];

export function ordersK6Thresholds(): Record<string, string[]> {
  return Object.fromEntries(ORDERS_THRESHOLDS.map((t) => [t.metric, [t.expr]]));
}

export function evaluateOrdersThresholds(r: OrdersLoadResult): ThresholdVerdict[] {
  return ORDERS_THRESHOLDS.map((t) => {
    const actual = t.measure(r);
    return { metric: t.metric, expr: t.expr, actual, ok: t.ok(actual) };
  });
}

/** One header line, a table (valid orders, then each malformed kind), the threshold verdicts. */
export function formatOrdersSummary(title: string, r: OrdersLoadResult, thresholds: ThresholdVerdict[]): string {
  const v = rowFigures(r.valid);
  const errors = Object.entries(v.errors).map(([k, n]) => `${k} ${n}`).join(', ') || '–';
  const header = ['requests', 'total', 'as expected', 'wrong', 'p99 ms', 'answers / errors'];
  const rows = [
    ['valid orders (2xx)', String(v.total), String(v.ok), String(v.failed), String(Math.round(v.p99Ms)), errors],
    ...MALFORMED_KINDS.map((k) => {
      const m = r.malformed[k];
      const statuses = Object.entries(m.statuses).map(([s, n]) => `${s} ×${n}`).join(', ') || '–';
      return [`malformed ${k} (4xx)`, String(m.total), String(m.rejected), String(m.wrong), '', statuses];
    }),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 0 || i === c.length - 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
      .join(' │ ')
      .trimEnd();
  const crossed = thresholds.filter((t) => !t.ok).length;
  return [
    title,
    '',
    line(header),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map(line),
    '',
    'thresholds:',
    ...thresholds.map((t) => `  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expr} (actual ${t.expr.startsWith('p(') ? `${Math.round(t.actual)} ms` : t.actual.toFixed(4)})`),
    crossed ? `${crossed} of ${thresholds.length} thresholds crossed` : `all ${thresholds.length} thresholds passed`,
  ].join('\n');
}
