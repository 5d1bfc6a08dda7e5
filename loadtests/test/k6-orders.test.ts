/**
 * orders-steady.js and orders-burst.js under the stand-in k6 modules: they load, their options are what k6
 * accepts, they declare the Node twins' thresholds and schedule, and they send the twins' bodies.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
  if (body.length > 64 * 1024) return { status: 413, body: JSON.stringify({ code: 'DW_VALIDATION' }) };
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
    expect([...new Set(s.imports)].sort()).toEqual(['./lib/orders.js', 'k6/http', 'k6/metrics']);
    iterate(s, 200);
    expect(checkOptions(s.module, s.state)).toEqual([]);
    expect(s.module.options.thresholds).toEqual(ordersK6Thresholds());
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

describe('the k6 schedules are the Node twins’ defaults', () => {
  it('orders-steady: constant-arrival-rate at RATE for DURATION_S', async () => {
    const s = await loadK6Script(script('orders-steady'));
    const d = PROFILES['orders-steady'].rates;
    expect((s.module.options.scenarios as Record<string, unknown>).orders).toMatchObject({ executor: 'constant-arrival-rate', rate: d.rate!.normal, timeUnit: '1s', duration: `${d['duration-s']!.normal}s` });
  });

  it('orders-burst: ramping-arrival-rate with the twin’s burst stages', async () => {
    const s = await loadK6Script(script('orders-burst'), { BURSTS: '2' });
    const d = PROFILES['orders-burst'].rates;
    const sc = (s.module.options.scenarios as Record<string, { executor: string; startRate: number; stages: { target: number; duration: string }[] }>).orders!;
    expect(sc.executor).toBe('ramping-arrival-rate');
    expect(sc.startRate).toBe(d['base-rate']!.normal);
    expect(sc.stages).toEqual(burstStages(d['base-rate']!.normal, d['peak-rate']!.normal, 2).map((st) => ({ target: st.target, duration: `${st.durationMs / 1000}s` })));
  });
});
