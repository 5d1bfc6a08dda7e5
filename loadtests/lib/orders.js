/**
 * What orders-steady.js and orders-burst.js share: the environment, the request bodies (valid and malformed,
 * the same as loadtests/src/orders-load.ts), the metrics, the thresholds (as loadtests/src/orders-summary.ts),
 * the set-up check and one iteration. Only k6 built-ins.
 *
 * k6 passes the shell's environment to __ENV as well as -e values: setup() prints every setting in use and
 * where it came from, so an exported RATE or STRATEGY does not change a run silently.
 */
import http from 'k6/http';
import { fail } from 'k6';
import { Counter, Rate } from 'k6/metrics';

/** Every setting read through env()/intEnv(), with its value and where it came from. */
const SETTINGS = {};

export function env(name, fallback) {
  const raw = __ENV[name];
  const fromEnv = !(raw === undefined || raw === '');
  SETTINGS[name] = { value: fromEnv ? raw : fallback, source: fromEnv ? '-e or environment' : 'default' };
  return fromEnv ? raw : fallback;
}

export function intEnv(name, fallback, min) {
  const raw = env(name, undefined);
  if (raw === undefined) {
    SETTINGS[name].value = fallback;
    return fallback;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name}=${raw} is not valid: expected a whole number >= ${min}`);
  return Number(raw);
}

export const BASE_URL = String(env('BASE_URL', 'http://localhost:3000')).replace(/\/+$/, '');
export const STRATEGY = env('STRATEGY', 'outbox');
const MALFORMED_PCT = intEnv('MALFORMED_PCT', 10, 0);
if (MALFORMED_PCT > 100) throw new Error(`MALFORMED_PCT=${MALFORMED_PCT} is not valid: expected 0-100`);

/** "NAME=value (default)" or "NAME=value (-e or environment)" for every setting read so far. */
export function settingsLine() {
  return Object.keys(SETTINGS)
    .map((k) => `${k}=${SETTINGS[k].value} (${SETTINGS[k].source})`)
    .join(', ');
}

/**
 * setup(): the service must answer before the first order is sent (a stopped service would otherwise give one
 * "Request Failed" warning per request); then the settings in use are printed once.
 */
export function checkService() {
  const res = http.get(`${BASE_URL}/health`, { tags: { endpoint: 'setup' }, timeout: '10s' });
  if (res.status === 0) fail(`the order service at ${BASE_URL} does not answer (${res.error}): start it (npm start) or set BASE_URL`);
  console.log(`settings: ${settingsLine()}`);
  return { baseUrl: BASE_URL, strategy: STRATEGY, startedAt: new Date().toISOString() };
}

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

/** The statistics k6 keeps for the summary (p(99) is in the thresholds and in the table). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

function pad(s, n, left) {
  s = String(s);
  while (s.length < n) s = left ? ` ${s}` : `${s} `;
  return s;
}

/**
 * The Node twin's table (loadtests/src/orders-summary.ts) from k6's end-of-test data: valid orders, then each
 * malformed kind, then the threshold verdicts. k6 keeps no per-status counts, so the last column shows "–".
 */
export function formatOrdersSummary(title, data) {
  const m = data.metrics || {};
  const values = (name) => (m[name] && m[name].values) || {};
  const failed = values('http_req_failed{kind:valid}');
  const validFailed = failed.passes || 0; // http_req_failed is true for a failed request
  const validTotal = validFailed + (failed.fails || 0);
  const p99 = values('http_req_duration{kind:valid}')['p(99)'] || 0;
  const header = ['requests', 'total', 'as expected', 'wrong', 'p99 ms', 'answers / errors'];
  const rows = [['valid orders (2xx)', String(validTotal), String(validTotal - validFailed), String(validFailed), String(Math.round(p99)), '–']];
  for (const kind of MALFORMED_KINDS) {
    const k = kind.replace(/-/g, '_');
    const total = values(`malformed_${k}_requests`).count || 0;
    const ok = values(`malformed_${k}_rejected`).count || 0;
    rows.push([`malformed ${kind} (4xx)`, String(total), String(ok), String(total - ok), '', '–']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c) => c.map((x, i) => pad(x, widths[i], !(i === 0 || i === c.length - 1))).join(' │ ').replace(/\s+$/, '');
  const verdicts = [];
  for (const metric of Object.keys(THRESHOLDS)) {
    for (const expr of THRESHOLDS[metric]) {
      const t = m[metric] && m[metric].thresholds ? m[metric].thresholds[expr] : undefined;
      verdicts.push({ metric, expr, ok: t ? t.ok !== false : false });
    }
  }
  const crossed = verdicts.filter((v) => !v.ok).length;
  return [
    title,
    '',
    line(header),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map(line),
    '',
    'thresholds:',
    ...verdicts.map((v) => `  ${v.ok ? '✓' : '✗'} ${v.metric} ${v.expr}`),
    crossed ? `${crossed} of ${verdicts.length} thresholds crossed` : `all ${verdicts.length} thresholds passed`,
  ].join('\n');
}

/** SUMMARY_JSON, read in the init code (so setup() prints it): results/<name>.k6.json unless set. */
export function summaryPath(name) {
  return env('SUMMARY_JSON', `results/${name}.k6.json`);
}

/**
 * handleSummary's answer: the table on stdout and the JSON report in `file` (relative to the folder k6 runs
 * in; k6 creates no folder — the repository ships an empty results/ for it).
 */
export function ordersSummaryOutput(name, describe, data, file) {
  const title = `${name} · strategy ${STRATEGY} · ${describe} · ${MALFORMED_PCT}% malformed · k6`;
  const out = { stdout: `\n${formatOrdersSummary(title, data)}\n\nJSON report: ${file}\n` };
  out[file] = JSON.stringify({ tool: 'k6', name, baseUrl: BASE_URL, strategy: STRATEGY, malformedPct: MALFORMED_PCT, k6: { state: data.state, metrics: data.metrics } }, null, 2);
  return out;
}
