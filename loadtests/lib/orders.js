/**
 * What orders-steady.js and orders-burst.js share: the environment, the request bodies (valid and malformed,
 * the same as loadtests/src/orders-load.ts), the metrics, the thresholds (as loadtests/src/orders-summary.ts)
 * and one iteration. Only k6 built-ins.
 */
import http from 'k6/http';
import { Counter, Rate } from 'k6/metrics';

export function intEnv(name, fallback, min) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name}=${raw} is not valid: expected a whole number >= ${min}`);
  return Number(raw);
}

export const BASE_URL = String(__ENV.BASE_URL || 'http://localhost:3000').replace(/\/+$/, '');
export const STRATEGY = __ENV.STRATEGY || 'outbox';
const MALFORMED_PCT = intEnv('MALFORMED_PCT', 10, 0);
if (MALFORMED_PCT > 100) throw new Error(`MALFORMED_PCT=${MALFORMED_PCT} is not valid: expected 0-100`);

// The same order as packages/loadgen's SAMPLE_ITEMS.
const SAMPLE_ITEMS = [
  { sku: 'BOOK-001', qty: 1, priceCents: 4599 },
  { sku: 'MUG-001', qty: 2, priceCents: 1299 },
];

export const MALFORMED_KINDS = ['bad-json', 'missing-fields', 'wrong-types', 'oversized', 'sql-injection'];

export function malformedBody(kind) {
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
  throw new Error(`unknown malformed kind ${kind}`);
}

const rejected = new Rate('malformed_rejected');
const perKind = {};
// k6 metric names take no '-': malformed_bad_json_requests, malformed_bad_json_rejected, …
for (const kind of MALFORMED_KINDS) {
  const m = kind.replace(/-/g, '_');
  perKind[kind] = { requests: new Counter(`malformed_${m}_requests`), rejected: new Counter(`malformed_${m}_rejected`) };
}

export const THRESHOLDS = {
  'http_req_failed{kind:valid}': ['rate<0.01'],
  'http_req_duration{kind:valid}': ['p(99)<1000'],
  malformed_rejected: ['rate==1'],
};

function hasCode(res) {
  try {
    return typeof res.json().code === 'string';
  } catch (e) {
    return false;
  }
}

/** One request: malformed (MALFORMED_PCT % of them, kinds at random), else a valid order. */
export function sendOrder() {
  const url = `${BASE_URL}/api/v1/orders?strategy=${STRATEGY}`;
  const headers = { 'Content-Type': 'application/json' };
  if (Math.random() * 100 < MALFORMED_PCT) {
    const kind = MALFORMED_KINDS[Math.floor(Math.random() * MALFORMED_KINDS.length)];
    const res = http.post(url, malformedBody(kind), { headers, tags: { kind: 'malformed', malformed: kind } });
    const ok = res.status >= 400 && res.status < 500 && hasCode(res);
    perKind[kind].requests.add(1);
    if (ok) perKind[kind].rejected.add(1);
    rejected.add(ok);
    return;
  }
  http.post(url, JSON.stringify({ customerId: `k6-${__VU}-${__ITER}`, items: SAMPLE_ITEMS }), { headers, tags: { kind: 'valid' } });
}
