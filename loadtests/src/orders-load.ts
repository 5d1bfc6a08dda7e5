/**
 * Open-model order load (k6's constant- and ramping-arrival-rate): POST /api/v1/orders at a scheduled rate,
 * whether or not earlier requests answered, with a share of malformed requests that must each get a 4xx
 * with a `code`. orders-steady.js and orders-burst.js (k6) send the same bodies (a test compares them).
 */
import { SAMPLE_ITEMS, summarize, timedCall, type CallResult, type CallSummary } from '@dual-write/loadgen';

export const MALFORMED_KINDS = ['bad-json', 'missing-fields', 'wrong-types', 'oversized', 'sql-injection'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** The request body of one malformed kind (the service takes at most 64 KiB, and customerId matches ^[A-Za-z0-9._@-]+$). */
export function malformedBody(kind: MalformedKind): string {
  switch (kind) {
    case 'bad-json':
      return '{"customerId": "load", "items": [';
    case 'missing-fields':
      return JSON.stringify({ items: SAMPLE_ITEMS });
    case 'wrong-types':
      return JSON.stringify({ customerId: 42, items: [{ sku: 'BOOK-001', qty: 'one', priceCents: '45.99' }] });
    case 'oversized':
      return JSON.stringify({ customerId: 'load', items: SAMPLE_ITEMS, note: 'x'.repeat(70 * 1024) });
    case 'sql-injection':
      return JSON.stringify({ customerId: "x'); drop table orders; --", items: [{ sku: "BOOK-001' OR '1'='1", qty: 1, priceCents: 1 }] });
  }
}

/** Request number i (from 0) is malformed when the running count of share·(i+1) steps up; kinds take turns. */
export function malformedKindOf(i: number, share: number): MalformedKind | undefined {
  const before = Math.floor(i * share);
  if (Math.floor((i + 1) * share) === before) return undefined;
  return MALFORMED_KINDS[before % MALFORMED_KINDS.length];
}

export interface RateStage {
  /** Requests per second reached at the end of the stage (linear ramp from the previous rate). */
  target: number;
  durationMs: number;
}

export interface OrdersLoadOptions {
  baseUrl: string;
  strategy: string;
  startRate: number;
  stages: RateStage[];
  /** 0..1 (default 0.1). */
  malformedShare?: number;
  customerId?: string;
  timeoutMs?: number;
}

export interface MalformedFigures {
  total: number;
  /** Answered 4xx with a `code`, as they must be. */
  rejected: number;
  /** Anything else (2xx, 5xx, a 4xx without code, a network error). */
  wrong: number;
  statuses: Record<string, number>;
}

export interface OrdersLoadResult {
  durationMs: number;
  valid: CallSummary;
  /** Order ids the service accepted. */
  orderIds: string[];
  malformed: Record<MalformedKind, MalformedFigures>;
}

/** Send times (ms from the start) of an arrival-rate schedule: rate ramps linearly within each stage. */
export function arrivalTimes(startRate: number, stages: RateStage[]): number[] {
  const times: number[] = [];
  let from = startRate;
  let offset = 0;
  let before = 0; // arrivals (fractional) of the earlier stages
  let n = 1;
  for (const s of stages) {
    // Arrivals after t seconds of the stage: from·t + a·t², a = (target − from) / (2·D); request n comes when that reaches n − before.
    const d = s.durationMs / 1000;
    const a = (s.target - from) / (2 * d);
    const inStage = from * d + a * d * d;
    for (; n - before <= inStage + 1e-9; n++) {
      const k = n - before;
      const t = a === 0 ? k / from : (-from + Math.sqrt(Math.max(0, from * from + 4 * a * k))) / (2 * a);
      times.push(offset + t * 1000);
    }
    before += inStage;
    offset += s.durationMs;
    from = s.target;
  }
  return times;
}

export async function runOrdersLoad(opts: OrdersLoadOptions): Promise<OrdersLoadResult> {
  const share = opts.malformedShare ?? 0.1;
  const url = `${opts.baseUrl}/api/v1/orders?strategy=${encodeURIComponent(opts.strategy)}`;
  const headers = { 'content-type': 'application/json' };
  const valid: Promise<CallResult & { body?: unknown }>[] = [];
  const bad: Promise<{ kind: MalformedKind; r: CallResult & { body?: unknown } }>[] = [];
  const t0 = performance.now();
  const times = arrivalTimes(opts.startRate, opts.stages);
  for (let i = 0; i < times.length; i++) {
    const wait = times[i]! - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const kind = malformedKindOf(i, share);
    if (kind) bad.push(timedCall(url, { method: 'POST', headers, body: malformedBody(kind), timeoutMs: opts.timeoutMs }).then((r) => ({ kind, r })));
    else valid.push(timedCall(url, { method: 'POST', headers, body: JSON.stringify({ customerId: `${opts.customerId ?? 'load'}-${i}`, items: SAMPLE_ITEMS }), timeoutMs: opts.timeoutMs }));
  }
  const [validResults, badResults] = await Promise.all([Promise.all(valid), Promise.all(bad)]);
  const malformed = Object.fromEntries(MALFORMED_KINDS.map((k) => [k, { total: 0, rejected: 0, wrong: 0, statuses: {} }])) as Record<MalformedKind, MalformedFigures>;
  for (const { kind, r } of badResults) {
    const m = malformed[kind];
    m.total++;
    const hasCode = typeof r.body === 'object' && r.body !== null && typeof (r.body as { code?: unknown }).code === 'string';
    if (r.status >= 400 && r.status < 500 && hasCode) m.rejected++;
    else m.wrong++;
    m.statuses[String(r.status)] = (m.statuses[String(r.status)] ?? 0) + 1;
  }
  const orderIds = validResults.flatMap((r) => {
    const id = (r.body as { order?: { id?: string } } | undefined)?.order?.id;
    return r.ok && id ? [id] : [];
  });
  return { durationMs: Math.round(performance.now() - t0), valid: summarize(validResults), orderIds, malformed };
}
