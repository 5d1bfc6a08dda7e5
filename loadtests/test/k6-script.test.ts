/**
 * k6 cannot run on CI, so pool-exhaustion.js runs here against stand-in k6 modules: a syntax error, a broken
 * `options` object or a wrong HTTP call fails CI instead of the first user who has k6.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SAMPLE_ITEMS } from '@dual-write/loadgen';
import { ERROR_KINDS, formatSummary, k6Thresholds, ROWS, type Figures } from '../src/index.ts';
import { checkOptions, EXECUTORS, startupProblems } from './k6/options-check.ts';
import { K6StartError, loadK6Script, type LoadedScript } from './k6/load.ts';
import type { StubRequest, StubResponseInit } from './k6/state.ts';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../pool-exhaustion.js');
const ENV = { BASE_URL: 'http://svc.test:3000/', TOXIPROXY_URL: 'http://toxi.test:8474', LATENCY_MS: '3000', BURST: '12' };
const json = (status: number, body: unknown): StubResponseInit => ({ status, body: JSON.stringify(body) });
const POOL_EXHAUSTED = json(503, { code: 'DW_DB_POOL_EXHAUSTED', message: 'no connection', hint: 'use the outbox' });

/** A healthy service and Toxiproxy; the unrelated endpoints answer `unrelated`. */
function service(unrelated: StubResponseInit = json(200, { ok: true })) {
  return (req: StubRequest): StubResponseInit => {
    if (req.url.startsWith('http://toxi.test:8474/proxies/kafka/toxics')) return req.method === 'POST' ? { status: 200, body: req.body ?? '' } : { status: 204 };
    if (req.url.endsWith('/health')) return json(200, { status: 'ok' });
    if (req.url.endsWith('/openapi.json')) return json(200, { paths: { '/api/v1/orders': { post: { parameters: [{ in: 'query', name: 'strategy', schema: { type: 'string', enum: ['naive', 'naive-after-commit', 'outbox'] } }] } } } });
    if (req.url.includes('/api/v1/orders')) return json(201, { order: { id: '0b6f0a57-8c43-4c9c-9b51-3a3f4d1f1a11' }, eventId: 'e1' });
    return unrelated;
  };
}

/** setup → every order VU → a few unrelated iterations → teardown, as k6 would run them. */
function runAll(s: LoadedScript): unknown {
  const data = s.call('setup');
  const scenarios = s.options.scenarios as Record<string, { exec: string; vus: number }>;
  for (let vu = 1; vu <= scenarios.orders!.vus; vu++) s.call(scenarios.orders!.exec, data, vu);
  for (let i = 0; i < 3; i++) s.call(scenarios.unrelated!.exec, data, 100 + i);
  s.call('teardown', data);
  return data;
}

// The script's console.log progress lines (k6 prints them as INFO) are not what these tests look at.
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterAll(() => {
  vi.restoreAllMocks();
});

describe('loadtests/pool-exhaustion.js under stand-in k6 modules', () => {
  it('loads (no syntax error) and imports nothing but the k6 built-ins', async () => {
    const s = await loadK6Script(SCRIPT);
    expect([...new Set(s.imports)].sort()).toEqual(['k6', 'k6/http', 'k6/metrics']);
    for (const name of ['setup', 'teardown', 'handleSummary']) expect(typeof s.module[name]).toBe('function');
  });

  it('declares scenarios k6 accepts and thresholds on metrics and tags the script really produces', async () => {
    const s = await loadK6Script(SCRIPT, ENV, service(POOL_EXHAUSTED));
    runAll(s);
    expect(checkOptions(s.options, s.module, s.state)).toEqual([]);
    const { scenarios, thresholds } = s.options as { scenarios: Record<string, Record<string, unknown>>; thresholds: unknown };
    expect(Object.keys(scenarios).sort()).toEqual(['orders', 'unrelated']);
    expect(scenarios.orders).toMatchObject({ executor: 'per-vu-iterations', vus: 12, iterations: 1, exec: 'orders' });
    expect(scenarios.unrelated).toMatchObject({ executor: 'constant-vus', vus: 4, duration: '4000ms', exec: 'unrelated' });
    // The same thresholds as the Node twin evaluates.
    expect(thresholds).toEqual(k6Thresholds());
  });

  it('the options check itself catches what k6 would reject', async () => {
    const s = await loadK6Script(SCRIPT, ENV, service());
    runAll(s);
    const broken = {
      scenarios: {
        a: { executor: 'per-vu-iteration', vus: 2 },
        b: { executor: 'constant-vus', vus: 0, exec: 'nope' },
        c: { executor: 'shared-iterations', vus: 3, iterations: 2, duration: '1s', maxDuration: '10 seconds' },
        d: { executor: 'constant-vus', vus: 2, duration: '500ms', exec: 'unrelated' },
        e: { executor: 'ramping-arrival-rate', stages: [{ target: 10, duration: '1s' }], preAllocatedVUs: 200, maxVUs: 50, exec: 'orders' },
        f: { executor: 'externally-controlled', vus: 1, maxVUs: 2, duration: '10s' },
        'g h': { executor: 'per-vu-iterations', vus: 1, maxDuration: '900ms', exec: 'orders' },
      },
      thresholds: { 'http_req_failed{endpoint:unrelatd}': ['rate<0.01'], 'http_req_duration{endpoint:unrelated}': ['rate<1'], no_such_metric: ['count>0'], 'http_reqs{endpoint:orders}': ['count >> 3'] },
    };
    const problems = checkOptions(broken, s.module, s.state).join('\n');
    expect(problems).toContain('executor "per-vu-iteration" does not exist');
    expect(problems).toContain('constant-vus needs "duration"');
    expect(problems).toContain('vus 0 is not a whole number');
    expect(problems).toContain('exec "nope" is not an exported function');
    expect(problems).toContain('shared-iterations has no field "duration"');
    expect(problems).toContain('maxDuration "10 seconds" is not a k6 duration');
    expect(problems).toContain('shared-iterations needs iterations ≥ vus');
    expect(problems).toContain('no sample of http_req_failed carries the tag endpoint:unrelatd');
    expect(problems).toContain('a trend metric has no "rate"');
    expect(problems).toContain('metric "no_such_metric" is neither built in nor created');
    expect(problems).toContain('"count >> 3" is not a threshold expression');
    // k6's own Validate() rules (lib/executor), which make `k6 run` exit 104 before anything runs.
    expect(problems).toContain('scenario "d": the duration must be at least 1s, but is 500ms');
    expect(problems).toContain('scenario "e": maxVUs can\'t be less than preAllocatedVUs');
    expect(problems).toContain('scenario "f": the externally-controlled executor was removed in k6 v2.0');
    expect(problems).toContain('scenario "g h": the scenario name should contain only');
    expect(problems).toContain('scenario "g h": the maxDuration must be at least 1s, but is 900ms');
    expect(Object.keys(EXECUTORS)).toContain('per-vu-iterations');
    // Those refusals stop the load, as they stop `k6 run`.
    expect(startupProblems(broken, s.module, s.state.metrics).length).toBeGreaterThan(5);
  });

  it('stands in for k6 where it matters: options replaced by k6’s values after init, __ENV frozen, k6’s metric-name rule', async () => {
    const s = await loadK6Script(SCRIPT, ENV, service());
    // What the script declared, as k6 parsed it…
    expect((s.options.thresholds as Record<string, string[]>)['http_req_failed{endpoint:unrelated}']).toEqual(['rate<0.01']);
    // …and what the script itself sees from then on: k6's Go structures, not its literals.
    const seen = s.module.options as { thresholds: Record<string, unknown>; scenarios: Record<string, Record<string, unknown>> };
    const t = seen.thresholds['http_req_failed{endpoint:unrelated}'];
    expect(() => [...(t as Iterable<unknown>)]).toThrow(TypeError);
    expect(t).toMatchObject({ thresholds: [{ source: 'rate<0.01' }], abort: false });
    expect(seen.scenarios.orders).toMatchObject({ type: 'per-vu-iterations', vus: { int64: 12, valid: true }, exec: { string: 'orders', valid: true } });
    expect(Object.isFrozen((globalThis as { __ENV?: object }).__ENV)).toBe(true);

    const dir = mkdtempSync(path.join(tmpdir(), 'k6-names-'));
    for (const [name, ok] of [['a', false], ['ab', true], ['orders-failed', false], ['9lives', false], ['_x', true], [`m${'x'.repeat(128)}`, true], [`m${'x'.repeat(129)}`, false]] as const) {
      const file = path.join(dir, `${ok ? 'ok' : 'bad'}-${name.length}-${name.slice(0, 8)}.js`);
      writeFileSync(file, `import { Counter } from 'k6/metrics';\nnew Counter(${JSON.stringify(name)});\nexport const options = { scenarios: { s: { executor: 'per-vu-iterations', exec: 'run' } } };\nexport function run() {}\n`);
      if (ok) await expect(loadK6Script(file), name).resolves.toBeDefined();
      else await expect(loadK6Script(file), name).rejects.toThrow(/Invalid metric name/);
    }

    const refused = path.join(dir, 'refused.js');
    writeFileSync(refused, `export const options = { scenarios: { s: { executor: 'constant-vus', vus: 1, duration: '500ms', exec: 'run' } } };\nexport function run() {}\n`);
    const err = await loadK6Script(refused).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(K6StartError);
    expect((err as K6StartError).exitCode).toBe(104);
    expect((err as K6StartError).problems).toEqual(['scenario "s": the duration must be at least 1s, but is 500ms']);
  });

  it('setup() adds a LATENCY_MS latency toxic to the kafka proxy; teardown() removes that same toxic', async () => {
    const s = await loadK6Script(SCRIPT, ENV, service());
    const data = s.call<{ toxic: string }>('setup');
    const add = s.state.requests.find((r) => r.method === 'POST' && r.url === 'http://toxi.test:8474/proxies/kafka/toxics');
    expect(add).toBeDefined();
    const toxic = JSON.parse(add!.body!) as { name: string; type: string; stream: string; attributes: { latency: number } };
    expect(toxic).toMatchObject({ type: 'latency', stream: 'downstream', attributes: { latency: 3000 } });
    expect(data.toxic).toBe(toxic.name);
    // The health probe goes to BASE_URL (trailing slash trimmed) before the toxic is added.
    expect(s.state.requests[0]!.url).toBe('http://svc.test:3000/health');

    s.state.requests.length = 0;
    s.call('teardown', data);
    expect(s.state.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`DELETE http://toxi.test:8474/proxies/kafka/toxics/${toxic.name}`]);
  });

  it('setup() prints every setting in use and where it came from, and gives the OpenAPI call a timeout', async () => {
    const log = vi.mocked(console.log);
    log.mockClear();
    const s = await loadK6Script(SCRIPT, ENV, service());
    s.call('setup');
    const settings = log.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('settings: '));
    expect(settings).toHaveLength(1);
    for (const part of ['BASE_URL=http://svc.test:3000 (-e or environment)', 'LATENCY_MS=3000 (-e or environment)', 'BURST=12 (-e or environment)', 'STRATEGY=naive (default)', 'PROBES=4 (default)', 'DURATION_MS=4000 (default)', 'SUMMARY_JSON=results/pool-exhaustion.k6.json (default)']) {
      expect(settings[0]).toContain(part);
    }
    expect(s.state.requests.find((r) => r.url.endsWith('/openapi.json'))?.params.timeout).toBe('10s');
  });

  it('setup() replaces a toxic left by an interrupted run, and fails when Toxiproxy refuses', async () => {
    let posts = 0;
    const conflictOnce = (req: StubRequest) => (req.method === 'POST' && req.url.endsWith('/toxics') && posts++ === 0 ? { status: 409, body: 'exists' } : service()(req));
    const s = await loadK6Script(SCRIPT, ENV, conflictOnce);
    s.call('setup');
    expect(s.state.requests.filter((r) => r.url.includes('/toxics')).map((r) => r.method)).toEqual(['POST', 'DELETE', 'POST']);

    const down = await loadK6Script(SCRIPT, ENV, (req) => (req.url.includes('/toxics') ? { status: 0, error: 'connection refused' } : service()(req)));
    expect(() => down.call('setup')).toThrow(/could not add the latency toxic/);

    const noService = await loadK6Script(SCRIPT, ENV, () => ({ status: 0, error: 'connection refused' }));
    expect(() => noService.call('setup')).toThrow(/does not answer/);
    expect(noService.state.requests.some((r) => r.url.includes('/toxics'))).toBe(false);
  });

  it('setup() refuses a STRATEGY the service does not list', async () => {
    const s = await loadK6Script(SCRIPT, { ...ENV, STRATEGY: 'eventual-hope' }, service());
    expect(() => s.call('setup')).toThrow(/STRATEGY=eventual-hope is not a write strategy.*naive, naive-after-commit, outbox/);
    expect(s.state.requests.some((r) => r.url.includes('/toxics'))).toBe(false);
  });

  it('orders() posts the sample order with STRATEGY; unrelated() calls login and product search, tagged endpoint:unrelated', async () => {
    const s = await loadK6Script(SCRIPT, { ...ENV, STRATEGY: 'naive-after-commit' }, service(POOL_EXHAUSTED));
    s.call('orders', undefined, 7);
    const [order] = s.state.requests;
    expect(order).toMatchObject({ method: 'POST', url: 'http://svc.test:3000/api/v1/orders?strategy=naive-after-commit', tags: { endpoint: 'orders' } });
    expect(JSON.parse(order!.body!)).toEqual({ customerId: 'k6-burst-7', items: SAMPLE_ITEMS });

    s.state.requests.length = 0;
    s.call('unrelated');
    expect(s.state.requests.map((r) => [r.method, r.url, r.tags.endpoint, r.tags.api])).toEqual([
      ['POST', 'http://svc.test:3000/api/v1/login', 'unrelated', 'login'],
      ['GET', 'http://svc.test:3000/api/v1/products?q=book', 'unrelated', 'products'],
    ]);
    expect(JSON.parse(s.state.requests[0]!.body!)).toEqual({ email: 'demo@example.com', password: 'demo-password' });
    const count = (name: string) => s.state.metrics.get(name)!.samples.reduce((a, x) => a + x.value, 0);
    expect(count('unrelated_requests')).toBe(2);
    expect(count('unrelated_failed')).toBe(2);
    expect(count('unrelated_error_DW_DB_POOL_EXHAUSTED')).toBe(2);
    expect(count('login_error_DW_DB_POOL_EXHAUSTED')).toBe(1);
    expect(count('orders_failed')).toBe(0);
    expect(s.state.sleeps).toEqual([0.1, 0.1]);
  });

  it('counts errors in the Node twin’s vocabulary (the same kinds, one counter per row and kind)', async () => {
    const s = await loadK6Script(SCRIPT, ENV, service());
    const kinds = new Set([...s.state.metrics.keys()].filter((n) => n.startsWith('orders_error_')).map((n) => n.slice('orders_error_'.length)));
    expect([...kinds].sort()).toEqual([...ERROR_KINDS].sort());
    for (const row of ROWS) for (const kind of ERROR_KINDS) expect(s.state.metrics.get(`${row}_error_${kind}`)?.type).toBe('counter');

    const answers: StubResponseInit[] = [json(400, { code: 'DW_VALIDATION' }), { status: 502, body: '<html>bad gateway</html>' }, { status: 0, errorCode: 1050, error: 'request timeout' }, { status: 0, error: 'connection reset' }];
    const t = await loadK6Script(SCRIPT, ENV, () => answers.shift() ?? json(200, {}));
    t.call('unrelated');
    t.call('unrelated');
    const seen = [...t.state.metrics.values()].filter((m) => m.name.startsWith('unrelated_error_') && m.samples.length).map((m) => m.name.slice('unrelated_error_'.length));
    expect(seen.sort()).toEqual(['DW_VALIDATION', 'HTTP_5xx', 'network', 'timeout']);
  });

  it('handleSummary() prints the Node twin’s table for the same figures and writes the JSON report', async () => {
    const figures: Figures = {
      tool: 'k6',
      strategy: 'naive',
      latencyMs: 3000,
      burst: 12,
      rows: {
        orders: { total: 12, ok: 5, failed: 7, p50Ms: 2004, p95Ms: 3021, p99Ms: 3022, errors: { DW_DB_POOL_EXHAUSTED: 7 } },
        unrelated: { total: 40, ok: 28, failed: 12, p50Ms: 9, p95Ms: 2003, p99Ms: 2004, errors: { DW_DB_POOL_EXHAUSTED: 11, HTTP_5xx: 1 } },
        login: { total: 20, ok: 14, failed: 6, p50Ms: 11, p95Ms: 2003, p99Ms: 2004, errors: { DW_DB_POOL_EXHAUSTED: 6 } },
        products: { total: 20, ok: 14, failed: 6, p50Ms: 7, p95Ms: 2002, p99Ms: 2003, errors: { DW_DB_POOL_EXHAUSTED: 5, HTTP_5xx: 1 } },
      },
      thresholds: [
        { metric: 'http_req_failed{endpoint:unrelated}', expr: 'rate<0.01', actual: 0.3, ok: false },
        { metric: 'http_req_duration{endpoint:unrelated}', expr: 'p(99)<1000', actual: 2004.4, ok: false },
      ],
    };
    // The end-of-test data k6 would hand over for those figures.
    const metrics: Record<string, unknown> = {
      'http_req_failed{endpoint:unrelated}': { type: 'rate', values: { rate: 0.3, passes: 12, fails: 28 }, thresholds: { 'rate<0.01': { ok: false } } },
      'http_req_duration{endpoint:unrelated}': { type: 'trend', values: { 'p(99)': 2004.4 }, thresholds: { 'p(99)<1000': { ok: false } } },
    };
    for (const row of ROWS) {
      const r = figures.rows[row];
      metrics[`${row}_requests`] = { type: 'counter', values: { count: r.total, rate: 1 } };
      metrics[`${row}_failed`] = { type: 'counter', values: { count: r.failed, rate: 1 } };
      metrics[`${row}_duration`] = { type: 'trend', values: { 'p(50)': r.p50Ms + 0.3, 'p(95)': r.p95Ms - 0.2, 'p(99)': r.p99Ms, med: r.p50Ms } };
      for (const [kind, n] of Object.entries(r.errors)) metrics[`${row}_error_${kind}`] = { type: 'counter', values: { count: n, rate: 1 } };
    }
    const data = { metrics, setup_data: { toxic: 'k6_pool_exhaustion_latency', strategy: 'naive', latencyMs: 3000, burst: 12, startedAt: '2026-01-01T00:00:00.000Z' }, state: { testRunDurationMs: 5000 } };

    const s = await loadK6Script(SCRIPT, ENV);
    const out = s.call<Record<string, string>>('handleSummary', data);
    expect(out.stdout).toContain(formatSummary(figures));
    expect(formatSummary(figures)).toContain('2 of 2 thresholds crossed');
    const report = JSON.parse(out['results/pool-exhaustion.k6.json']!) as { tool: string; figures: Figures };
    expect(report.tool).toBe('k6');
    expect(report.figures.rows).toEqual(figures.rows);

    // A metric k6 never received (no failures at all) counts as 0; SUMMARY_JSON moves the report.
    const healthy = await loadK6Script(SCRIPT, { ...ENV, SUMMARY_JSON: 'out/k6.json' });
    const quiet = healthy.call<Record<string, string>>('handleSummary', { metrics: {}, setup_data: data.setup_data, state: {} });
    expect(Object.keys(quiet)).toEqual(['stdout', 'out/k6.json']);
    expect(quiet.stdout).toContain('all 2 thresholds passed');
  });
});
