/**
 * "The unrelated endpoints must stay healthy", as k6 thresholds. pool-exhaustion.js declares exactly these
 * (a test compares them); the Node twin evaluates them on its own measurements.
 */
import type { CallSummary } from '@dual-write/loadgen';

export interface Threshold {
  /** The k6 metric (with its tag filter) the threshold is declared on. */
  metric: string;
  /** The k6 threshold expression. */
  expr: string;
  /** What the twin measures for it. */
  measure(unrelated: CallSummary): number;
  /** The expression's bound: the threshold passes when the measure is below it. */
  below: number;
}

export interface ThresholdVerdict {
  metric: string;
  expr: string;
  actual: number;
  ok: boolean;
}

export const THRESHOLDS: readonly Threshold[] = [
  {
    metric: 'http_req_failed{endpoint:unrelated}',
    expr: 'rate<0.01',
    measure: (u) => (u.total ? u.failed / u.total : 0),
    below: 0.01,
  },
  {
    metric: 'http_req_duration{endpoint:unrelated}',
    expr: 'p(99)<1000',
    measure: (u) => u.p99Ms,
    below: 1000,
  },
];

/** The thresholds in k6's `options.thresholds` shape. */
export function k6Thresholds(): Record<string, string[]> {
  return Object.fromEntries(THRESHOLDS.map((t) => [t.metric, [t.expr]]));
}

export function evaluateThresholds(unrelated: CallSummary): ThresholdVerdict[] {
  return THRESHOLDS.map((t) => {
    const actual = t.measure(unrelated);
    return { metric: t.metric, expr: t.expr, actual, ok: actual < t.below };
  });
}
