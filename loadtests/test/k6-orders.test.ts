/**
 * orders-steady.js and orders-burst.js under the stand-in k6 modules: they load, their options are what k6
 * accepts, they declare the Node twins' thresholds and schedule, and they send the twins' bodies.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { SAMPLE_ITEMS } from '@dual-write/loadgen';
import { burstStages, malformedBody, MALFORMED_KINDS, ordersK6Thresholds, PROFILES } from '../src/index.ts';
import { checkOptions } from './k6/options-check.ts';
import { loadK6Script, type LoadedScript } from './k6/load.ts';
import type { StubRequest, StubResponseInit } from './k6/state.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const script = (name: string) => path.resolve(HERE, '..', `${name}.js`);

/** The order service as it answers: 400/413 with a code for a malformed body, 201 for a valid one. */
function service(req: StubRequest): StubResponseInit {
  const body = req.body ?? '';
  if (body.length > 64 * 1024) return { status: 413, body: JSON.stringify({ code: 'DW_BODY_TOO_LARGE' }) };
  try {
    const o = JSON.parse(body) as { customerId?: unknown };
    if (typeof o.customerId === 'string' && /^[A-Za-z0-9._@-]+$/.test(o.customerId)) return { status: 201, body: JSON.stringify({ order: { id: 'o1' }, eventId: 'e1' }) };
  } catch {
    // bad JSON
  }
  return { status: 400, body: JSON.stringify({ code: 'DW_VALIDATION' }) };
}

function iterate(s: LoadedScript, n: number): void {
  for (let i = 0; i < n; i++) s.call('orders', undefined, 1 + (i % 5));
}

const count = (s: LoadedScript, name: string) => (s.state.metrics.get(name)?.samples ?? []).reduce((a, x) => a + x.value, 0);

describe.each(['orders-steady', 'orders-burst'] as const)('loadtests/%s.js under stand-in k6 modules', (name) => {
  it('loads, imports only k6 built-ins (and the shared ./lib/orders.js), and k6 would accept its options', async () => {
    const s = await loadK6Script(script(name), { MALFORMED_PCT: '50' }, service);
    expect([...new Set(s.imports)].sort()).toEqual(['./lib/orders.js', 'k6', 'k6/http', 'k6/metrics']);
    iterate(s, 200);
    expect(checkOptions(s.options, s.module, s.state)).toEqual([]);
    expect(s.options.thresholds).toEqual(ordersK6Thresholds());
  });

  it('sends valid orders (tag kind:valid) and every malformed kind (tag kind:malformed), counting the 4xx-with-code answers', async () => {
    const s = await loadK6Script(script(name), { BASE_URL: 'http://svc.test:3000/', STRATEGY: 'naive', MALFORMED_PCT: '50' }, service);
    iterate(s, 300);
    expect(s.state.requests.every((r) => r.method === 'POST' && r.url === 'http://svc.test:3000/api/v1/orders?strategy=naive')).toBe(true);
    const valid = s.state.requests.filter((r) => r.tags.kind === 'valid');
    expect(valid.length).toBeGreaterThan(0);
    expect(JSON.parse(valid[0]!.body!)).toMatchObject({ items: SAMPLE_ITEMS });
    for (const kind of MALFORMED_KINDS) {
      const sent = s.state.requests.filter((r) => r.tags.malformed === kind);
      expect(sent.length, kind).toBeGreaterThan(0);
      // The same body as the Node twin sends.
      expect(sent[0]!.body).toBe(malformedBody(kind));
      const metric = kind.replace(/-/g, '_');
      expect(count(s, `malformed_${metric}_requests`)).toBe(sent.length);
      expect(count(s, `malformed_${metric}_rejected`)).toBe(sent.length);
    }
    const none = await loadK6Script(script(name), { MALFORMED_PCT: '0' }, service);
    iterate(none, 50);
    expect(none.state.requests.every((r) => r.tags.kind === 'valid')).toBe(true);
  });
});

describe.each(['orders-steady', 'orders-burst'] as const)('%s.js setup()', (name) => {
  it('stops the run when the service does not answer (one health check with a timeout, no orders)', async () => {
    const down = await loadK6Script(script(name), {}, () => ({ status: 0, error: 'connection refused' }));
    expect(() => down.call('setup')).toThrow(/order service at http:\/\/localhost:3000 does not answer \(connection refused\): start it \(npm start\) or set BASE_URL/);
    expect(down.state.requests.map((r) => [r.method, r.url, r.params.timeout])).toEqual([['GET', 'http://localhost:3000/health', '10s']]);
  });

  it('prints every setting in use and where it came from (a shell variable such as STRATEGY is not silent)', async () => {
    const logs = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const s = await loadK6Script(script(name), { STRATEGY: 'naive', SUMMARY_JSON: 'out.json' }, service);
      s.call('setup');
      const lines = logs.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('settings: '));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('STRATEGY=naive (-e or environment)');
      expect(lines[0]).toContain('BASE_URL=http://localhost:3000 (default)');
      expect(lines[0]).toContain('MALFORMED_PCT=10 (default)');
      expect(lines[0]).toContain('SUMMARY_JSON=out.json (-e or environment)');
      for (const v of name === 'orders-steady' ? ['RATE=50', 'DURATION_S=30'] : ['BASE_RATE=10', 'PEAK_RATE=200', 'BURSTS=3']) expect(lines[0]).toContain(`${v} (default)`);
    } finally {
      logs.mockRestore();
    }
  });
});

describe.each(['orders-steady', 'orders-burst'] as const)('%s.js handleSummary()', (name) => {
  it('prints the Node twin’s table from k6’s end-of-test data and writes the JSON report', async () => {
    const s = await loadK6Script(script(name), { STRATEGY: 'naive', MALFORMED_PCT: '20' }, service);
    const metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }> = {
      'http_req_failed{kind:valid}': { values: { rate: 0.1, passes: 2, fails: 18 }, thresholds: { 'rate<0.01': { ok: false } } },
      'http_req_duration{kind:valid}': { values: { 'p(99)': 812.4 }, thresholds: { 'p(99)<1000': { ok: true } } },
      malformed_rejected: { values: { rate: 1 }, thresholds: { 'rate==1': { ok: true } } },
    };
    for (const kind of MALFORMED_KINDS) {
      const k = kind.replace(/-/g, '_');
      metrics[`malformed_${k}_requests`] = { values: { count: 3 } };
      metrics[`malformed_${k}_rejected`] = { values: { count: kind === 'oversized' ? 2 : 3 } };
    }
    const out = s.call<Record<string, string>>('handleSummary', { metrics, state: { testRunDurationMs: 1000 } });
    const lines = out.stdout!.split('\n');
    expect(lines[1]).toMatch(new RegExp(`^${name} · strategy naive · .* · 20% malformed · k6$`));
    // The same columns as the Node twin (loadtests/src/orders-summary.ts).
    expect(lines[3]).toBe(`${'requests'.padEnd(Math.max(...MALFORMED_KINDS.map((k) => `malformed ${k} (4xx)`.length)))} │ total │ as expected │ wrong │ p99 ms │ answers / errors`);
    expect(out.stdout).toMatch(/valid orders \(2xx\)\s+│\s+20 │\s+18 │\s+2 │\s+812 │ –/);
    expect(out.stdout).toMatch(/malformed oversized \(4xx\)\s+│\s+3 │\s+2 │\s+1 │/);
    expect(out.stdout).toContain('✗ http_req_failed{kind:valid} rate<0.01');
    expect(out.stdout).toContain('1 of 3 thresholds crossed');
    const file = `results/${name}.k6.json`;
    expect(out.stdout).toContain(`JSON report: ${file}`);
    expect(JSON.parse(out[file]!)).toMatchObject({ tool: 'k6', name, strategy: 'naive', malformedPct: 20 });
  });
});

describe('the k6 schedules are the Node twins’ defaults', () => {
  it('orders-steady: constant-arrival-rate at RATE for DURATION_S', async () => {
    const s = await loadK6Script(script('orders-steady'));
    const d = PROFILES['orders-steady'].rates;
    expect((s.options.scenarios as Record<string, unknown>).orders).toMatchObject({ executor: 'constant-arrival-rate', rate: d.rate!.normal, timeUnit: '1s', duration: `${d['duration-s']!.normal}s` });
  });

  it('orders-burst: ramping-arrival-rate with the twin’s burst stages', async () => {
    const s = await loadK6Script(script('orders-burst'), { BURSTS: '2' });
    const d = PROFILES['orders-burst'].rates;
    const sc = (s.options.scenarios as Record<string, { executor: string; startRate: number; stages: { target: number; duration: string }[] }>).orders!;
    expect(sc.executor).toBe('ramping-arrival-rate');
    expect(sc.startRate).toBe(d['base-rate']!.normal);
    expect(sc.stages).toEqual(burstStages(d['base-rate']!.normal, d['peak-rate']!.normal, 2).map((st) => ({ target: st.target, duration: `${st.durationMs / 1000}s` })));
  });
});
