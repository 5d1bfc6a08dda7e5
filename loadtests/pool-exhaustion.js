/**
 * Connection pool exhaustion, as a k6 load test. Run it from the repository's root, with the lab running
 * (`npm start` in another terminal: order service on :3000, Toxiproxy on :8474):
 *
 *   k6 run loadtests/pool-exhaustion.js                      # naive: prints the table, exits 99 (thresholds crossed)
 *   k6 run -e STRATEGY=outbox loadtests/pool-exhaustion.js   # outbox: the thresholds pass, exit 0
 *
 * setup()      checks the service answers, prints the settings in use, adds a latency toxic (LATENCY_MS) to the
 *              Toxiproxy `kafka` proxy
 * orders       BURST virtual users each send one POST /api/v1/orders at the same moment
 * unrelated    PROBES virtual users call POST /api/v1/login and GET /api/v1/products?q=book for DURATION_MS
 * teardown()   removes the toxic
 * handleSummary() prints the table the Node twin (loadtests/pool-exhaustion.ts) prints and writes the JSON report
 *              to SUMMARY_JSON (results/pool-exhaustion.k6.json). The path is relative to the folder k6 runs in and
 *              k6 creates no folder: the repository ships an empty results/, so run from its root (or set
 *              SUMMARY_JSON to a path whose folder exists; k6 then reports "could not open" and the table still prints).
 *
 * Environment (-e NAME=value; k6 also passes your shell's environment, so an exported STRATEGY counts too —
 * setup() prints every value in use and where it came from):
 *   BASE_URL (http://localhost:3000), TOXIPROXY_URL (http://localhost:8474), STRATEGY (naive),
 *   LATENCY_MS (5000), BURST (20), PROBES (4), PROBE_INTERVAL_MS (100),
 *   DURATION_MS (LATENCY_MS + 1000; at least 1000: k6 runs no constant-vus scenario shorter than 1 s),
 *   SUMMARY_JSON (results/pool-exhaustion.k6.json).
 * A value the script cannot use stops it in its init code with a message naming the variable (k6 exits 107).
 *
 * The thresholds say "the unrelated endpoints must stay healthy". With STRATEGY=naive they FAIL — k6 exits
 * with code 99 — and that is the demonstration: orders hold their database connection while Kafka is slow,
 * so login and product search get no connection. With STRATEGY=outbox they pass.
 * If k6 is stopped before teardown() runs, remove the toxic by hand (the next run also does):
 *   curl -X DELETE http://localhost:8474/proxies/kafka/toxics/k6_pool_exhaustion_latency
 *
 * Only k6 built-ins (k6/http, k6, k6/metrics); no other module. k6 replaces the exported `options` with its
 * own values in every VU, so the script reads its thresholds from the THRESHOLDS constant, never from `options`.
 */
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

function trimUrl(value) {
  return String(value).replace(/\/+$/, '');
}

/** Where each setting came from, for the line setup() prints. */
const SOURCES = {};

function env(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    SOURCES[name] = 'default';
    return fallback;
  }
  SOURCES[name] = 'environment';
  return raw;
}

function intEnv(name, fallback, min, why) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name}=${raw} is not valid: expected a whole number >= ${min}${why ? ` (${why})` : ''}`);
  return Number(raw);
}

const BASE_URL = trimUrl(env('BASE_URL', 'http://localhost:3000'));
const TOXIPROXY_URL = trimUrl(env('TOXIPROXY_URL', 'http://localhost:8474'));
const STRATEGY = env('STRATEGY', 'naive');
const LATENCY_MS = intEnv('LATENCY_MS', 5000, 0);
const BURST = intEnv('BURST', 20, 1);
const PROBES = intEnv('PROBES', 4, 1);
const PROBE_INTERVAL_MS = intEnv('PROBE_INTERVAL_MS', 100, 0);
const MIN_DURATION_MS = 1000; // k6 refuses a constant-vus scenario shorter than 1 s
const DURATION_MS = intEnv('DURATION_MS', Math.max(MIN_DURATION_MS, LATENCY_MS + 1000), MIN_DURATION_MS, 'k6 runs no constant-vus scenario shorter than 1 s');
const SUMMARY_JSON = env('SUMMARY_JSON', 'results/pool-exhaustion.k6.json');
const SETTINGS = { BASE_URL, TOXIPROXY_URL, STRATEGY, LATENCY_MS, BURST, PROBES, PROBE_INTERVAL_MS, DURATION_MS, SUMMARY_JSON };

const TOXIC_NAME = 'k6_pool_exhaustion_latency';
const JSON_HEADERS = { 'Content-Type': 'application/json' };
// The same order as packages/loadgen's SAMPLE_ITEMS.
const SAMPLE_ITEMS = [
  { sku: 'BOOK-001', qty: 1, priceCents: 4599 },
  { sku: 'MUG-001', qty: 2, priceCents: 1299 },
];

/** Error kinds, as loadtests/src/summary.ts ERROR_KINDS (k6 needs one counter per kind, declared up front). */
const ERROR_KINDS = ['DW_DB_POOL_EXHAUSTED', 'DW_DB_UNAVAILABLE', 'DW_PUBLISH_FAILED', 'DW_VALIDATION', 'timeout', 'network', 'HTTP_4xx', 'HTTP_5xx'];
const ROWS = ['orders', 'unrelated', 'login', 'products'];

// Per row: requests, failures, durations and failures by kind.
const metrics = {};
for (const row of ROWS) {
  const errors = {};
  for (const kind of ERROR_KINDS) errors[kind] = new Counter(`${row}_error_${kind}`);
  metrics[row] = {
    requests: new Counter(`${row}_requests`),
    failed: new Counter(`${row}_failed`),
    duration: new Trend(`${row}_duration`, true),
    errors,
  };
}

/**
 * The unrelated endpoints must stay healthy (the Node twin evaluates the same two). Kept here and read from
 * here: k6 replaces `options.thresholds` with its own structure in every VU, handleSummary's included.
 */
const THRESHOLDS = {
  'http_req_failed{endpoint:unrelated}': ['rate<0.01'],
  'http_req_duration{endpoint:unrelated}': ['p(99)<1000'],
};

export const options = {
  scenarios: {
    orders: {
      executor: 'per-vu-iterations',
      exec: 'orders',
      vus: BURST,
      iterations: 1,
      maxDuration: `${Math.max(120000, 4 * LATENCY_MS)}ms`,
      gracefulStop: '30s',
    },
    unrelated: {
      executor: 'constant-vus',
      exec: 'unrelated',
      vus: PROBES,
      duration: `${DURATION_MS}ms`,
      gracefulStop: '10s',
    },
  },
  thresholds: THRESHOLDS,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)'],
  setupTimeout: '60s',
  teardownTimeout: '60s',
};

function toxicsUrl() {
  return `${TOXIPROXY_URL}/proxies/kafka/toxics`;
}

/** "NAME=value (default)" or "NAME=value (-e or environment)" for every setting. */
function settingsLine() {
  return Object.keys(SETTINGS)
    .map((k) => `${k}=${SETTINGS[k]} (${SOURCES[k] === 'environment' ? '-e or environment' : 'default'})`)
    .join(', ');
}

/** Refuses a strategy the service does not list in its OpenAPI document (when it serves one). */
function checkStrategy() {
  const res = http.get(`${BASE_URL}/openapi.json`, { tags: { endpoint: 'setup' }, timeout: '10s' });
  if (res.status !== 200) return;
  let allowed;
  try {
    const post = res.json().paths['/api/v1/orders'].post;
    const param = (post.parameters || []).filter((p) => p.name === 'strategy')[0];
    allowed = param && param.schema && param.schema.enum;
  } catch (e) {
    return;
  }
  if (allowed && allowed.indexOf(STRATEGY) < 0) fail(`STRATEGY=${STRATEGY} is not a write strategy of ${BASE_URL}: use one of ${allowed.join(', ')}`);
}

export function setup() {
  const health = http.get(`${BASE_URL}/health`, { tags: { endpoint: 'setup' }, timeout: '10s' });
  if (health.status === 0) fail(`the order service at ${BASE_URL} does not answer (${health.error}): start it (npm start) or set BASE_URL`);
  console.log(`settings: ${settingsLine()}`);
  checkStrategy();
  const toxic = { name: TOXIC_NAME, type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: LATENCY_MS, jitter: 0 } };
  const params = { headers: JSON_HEADERS, tags: { endpoint: 'toxiproxy' } };
  let res = http.post(toxicsUrl(), JSON.stringify(toxic), params);
  if (res.status === 409) {
    // Left behind by a run that was stopped before its teardown.
    http.del(`${toxicsUrl()}/${TOXIC_NAME}`, null, { tags: { endpoint: 'toxiproxy' } });
    console.log(`removed toxic ${TOXIC_NAME}, left on the kafka proxy by an interrupted run`);
    res = http.post(toxicsUrl(), JSON.stringify(toxic), params);
  }
  if (res.status !== 200) fail(`could not add the latency toxic: POST ${toxicsUrl()} → ${res.status} ${res.body || res.error} (is Toxiproxy at ${TOXIPROXY_URL}? npm run stack -- up)`);
  console.log(`toxic added: ${LATENCY_MS} ms latency on the kafka proxy (${TOXIC_NAME})`);
  console.log(`burst started: ${BURST} × POST /api/v1/orders?strategy=${STRATEGY}, with ${PROBES} VUs on POST /api/v1/login and GET /api/v1/products?q=book for ${DURATION_MS} ms`);
  return { toxic: TOXIC_NAME, baseUrl: BASE_URL, strategy: STRATEGY, latencyMs: LATENCY_MS, burst: BURST, startedAt: new Date().toISOString() };
}

/** The same vocabulary as the twin: the body's DW_* code, or timeout / network / HTTP_4xx / HTTP_5xx. */
function errorKind(res) {
  if (res.error_code === 1050) return 'timeout';
  if (res.status === 0) return 'network';
  let code;
  try {
    const body = res.json();
    code = body && typeof body === 'object' ? body.code : undefined;
  } catch (e) {
    code = undefined;
  }
  if (typeof code === 'string' && ERROR_KINDS.indexOf(code) >= 0) return code;
  return res.status >= 500 ? 'HTTP_5xx' : 'HTTP_4xx';
}

function record(rows, res) {
  const ok = res.status >= 200 && res.status < 400;
  const kind = ok ? undefined : errorKind(res);
  for (const row of rows) {
    const m = metrics[row];
    m.requests.add(1);
    m.failed.add(ok ? 0 : 1);
    m.duration.add(res.timings.duration);
    if (kind) m.errors[kind].add(1);
  }
  return ok;
}

export function orders() {
  const body = JSON.stringify({ customerId: `k6-burst-${__VU}`, items: SAMPLE_ITEMS });
  const res = http.post(`${BASE_URL}/api/v1/orders?strategy=${encodeURIComponent(STRATEGY)}`, body, {
    headers: JSON_HEADERS,
    tags: { endpoint: 'orders', api: 'orders' },
    timeout: '120s',
  });
  record(['orders'], res);
  check(res, { 'order created (201)': (r) => r.status === 201 }, { endpoint: 'orders' });
}

export function unrelated() {
  const login = http.post(`${BASE_URL}/api/v1/login`, JSON.stringify({ email: 'demo@example.com', password: 'demo-password' }), {
    headers: JSON_HEADERS,
    tags: { endpoint: 'unrelated', api: 'login' },
  });
  record(['unrelated', 'login'], login);
  check(login, { 'login answered 200': (r) => r.status === 200 }, { endpoint: 'unrelated' });
  if (PROBE_INTERVAL_MS) sleep(PROBE_INTERVAL_MS / 1000);
  const products = http.get(`${BASE_URL}/api/v1/products?q=book`, { tags: { endpoint: 'unrelated', api: 'products' } });
  record(['unrelated', 'products'], products);
  check(products, { 'product search answered 200': (r) => r.status === 200 }, { endpoint: 'unrelated' });
  if (PROBE_INTERVAL_MS) sleep(PROBE_INTERVAL_MS / 1000);
}

export function teardown(data) {
  const name = (data && data.toxic) || TOXIC_NAME;
  console.log('burst done');
  const res = http.del(`${toxicsUrl()}/${name}`, null, { tags: { endpoint: 'toxiproxy' } });
  if (res.status === 204 || res.status === 200 || res.status === 404) console.log('toxic removed');
  else console.error(`could not remove toxic ${name} (${res.status} ${res.body || res.error}): curl -X DELETE ${toxicsUrl()}/${name}`);
}

// ---- summary: the same figures and layout as loadtests/src/summary.ts (formatSummary) ----

function metricValue(data, name, stat) {
  const m = data.metrics[name];
  return m && m.values && typeof m.values[stat] === 'number' ? m.values[stat] : 0;
}

function rowFigures(data, row) {
  const total = metricValue(data, `${row}_requests`, 'count');
  const failed = metricValue(data, `${row}_failed`, 'count');
  const errors = {};
  for (const kind of ERROR_KINDS) {
    const n = metricValue(data, `${row}_error_${kind}`, 'count');
    if (n > 0) errors[kind] = n;
  }
  return {
    total,
    ok: total - failed,
    failed,
    p50Ms: Math.round(metricValue(data, `${row}_duration`, 'p(50)')),
    p95Ms: Math.round(metricValue(data, `${row}_duration`, 'p(95)')),
    p99Ms: Math.round(metricValue(data, `${row}_duration`, 'p(99)')),
    errors,
  };
}

function thresholdVerdicts(data) {
  const verdicts = [];
  for (const metric of Object.keys(THRESHOLDS)) {
    for (const expr of THRESHOLDS[metric]) {
      const stat = /^([a-z]+(\([0-9.]+\))?)/.exec(expr)[1];
      const m = data.metrics[metric];
      const result = m && m.thresholds ? m.thresholds[expr] : undefined;
      verdicts.push({ metric, expr, actual: metricValue(data, metric, stat), ok: result ? result.ok !== false : true });
    }
  }
  return verdicts;
}

export function figuresFromSummary(data) {
  const s = data.setup_data || {};
  const rows = {};
  for (const row of ROWS) rows[row] = rowFigures(data, row);
  return {
    tool: 'k6',
    strategy: s.strategy || STRATEGY,
    latencyMs: s.latencyMs === undefined ? LATENCY_MS : s.latencyMs,
    burst: s.burst === undefined ? BURST : s.burst,
    rows,
    thresholds: thresholdVerdicts(data),
  };
}

function formatErrors(errors) {
  const entries = Object.keys(errors)
    .map((k) => [k, errors[k]])
    .filter((e) => e[1] > 0);
  if (entries.length === 0) return '–';
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return entries.map((e) => `${e[0]} ${e[1]}`).join(', ');
}

function formatActual(v) {
  return v.expr.indexOf('rate') === 0 ? v.actual.toFixed(4) : `${Math.round(v.actual)} ms`;
}

export function formatSummary(f) {
  const header = ['endpoint', 'requests', 'ok', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'];
  const labels = { orders: 'orders', unrelated: 'unrelated', login: '  login', products: '  products' };
  const cells = ROWS.map((name) => {
    const r = f.rows[name];
    return [labels[name], String(r.total), String(r.ok), String(r.failed), String(Math.round(r.p50Ms)), String(Math.round(r.p95Ms)), String(Math.round(r.p99Ms)), formatErrors(r.errors)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i])))
      .join(' │ ')
      .replace(/\s+$/, '');
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

export function handleSummary(data) {
  const figures = figuresFromSummary(data);
  const report = {
    tool: 'k6',
    startedAt: data.setup_data ? data.setup_data.startedAt : undefined,
    baseUrl: BASE_URL,
    strategy: figures.strategy,
    latencyMs: figures.latencyMs,
    burst: figures.burst,
    probes: PROBES,
    toxic: { proxy: 'kafka', name: TOXIC_NAME, type: 'latency', latencyMs: figures.latencyMs },
    figures,
    thresholds: figures.thresholds,
    k6: { state: data.state, metrics: data.metrics },
  };
  const out = { stdout: `\n${formatSummary(figures)}\n\nJSON report: ${SUMMARY_JSON}\n` };
  out[SUMMARY_JSON] = JSON.stringify(report, null, 2);
  return out;
}
