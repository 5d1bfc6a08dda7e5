/**
 * One OpenTelemetry trace from the HTTP request to the consumers' effects (README "Tracing"), for real: the order
 * service, the relay, shipping and billing run as their own processes (their real entries, each with its tracer
 * provider and OTEL_TRACES_FILE), one order goes in through HTTP, and once shipping and billing have recorded its
 * effect the processes are stopped (which flushes their exporters) and the exported spans are checked:
 *   outbox: POST /api/v1/orders (SERVER) → outbox enqueue (→ pg INSERT) → publish <topic> (relay, PRODUCER)
 *           → process <topic> (shipping / billing, CONSUMER) → GET callback (CLIENT) → GET /api/v1/orders/:id
 *             (order-service SERVER), and → <consumer> record effect (→ pg INSERT);
 *   naive:  POST /api/v1/orders → send <topic> (PRODUCER, in the transaction) → process <topic> → … as above.
 * Negative control: a relay that drops the row's stored trace context — the same check fails (the consumers' spans
 * are in another trace than the request's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCommand, useLab, type RunningCommand } from '@dual-write/testkit';
import { readSpans, renderTrace, traceProblems, CONSUMERS } from './trace-check.ts';

const lab = useLab();
const ENTRIES = {
  'order-service': 'services/order-service/src/main.ts',
  relay: 'services/relay/src/main.ts',
  'relay-dropping-trace-context': 'services/lab/test/fixtures/relay-dropping-trace-context.ts',
  shipping: 'services/shipping/src/main.ts',
  billing: 'services/billing/src/main.ts',
} as const;
const ORDER = { customerId: 'tracer', items: [{ sku: 'BOOK-001', qty: 1, priceCents: 1000 }] };

let topic = '';
const dirs: string[] = [];
const running: RunningCommand[] = [];
beforeAll(async () => {
  topic = await lab.topic('orders', 2);
});
afterEach(() => {
  // A failed test may leave its processes running.
  for (const run of running.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Lab4 {
  url: string;
  spansDir: string;
  processes: Record<'order-service' | 'relay' | 'shipping' | 'billing', RunningCommand>;
}

/** The four processes, each exporting its spans to <spansDir>/<name>.jsonl; resolves when all are ready. */
async function startPieces(relay: 'relay' | 'relay-dropping-trace-context'): Promise<Lab4> {
  const port = await freePort();
  const spansDir = mkdtempSync(path.join(os.tmpdir(), 'dw-trace-'));
  dirs.push(spansDir);
  const base: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATABASE_URL: lab.db.url, ORDERS_TOPIC: topic, RELAY_PORT: '0', RELAY_LOG_LEVEL: 'info' };
  for (const k of Object.keys(base)) if (k.startsWith('OTEL_')) delete base[k];
  delete base.FAULT_INJECTION;
  const start = (name: string, entry: string) => {
    const run = startCommand(process.execPath, ['--import', 'tsx', entry], { cwd: lab.config.repoRoot, env: { ...base, OTEL_TRACES_FILE: path.join(spansDir, `${name}.jsonl`) } });
    running.push(run);
    return run;
  };
  // The order service first: it applies the migrations the others check for.
  const orderService = start('order-service', ENTRIES['order-service']);
  await orderService.line(/order service listening on /);
  const processes = {
    'order-service': orderService,
    relay: start('relay', ENTRIES[relay]),
    shipping: start('shipping', ENTRIES.shipping),
    billing: start('billing', ENTRIES.billing),
  };
  await Promise.all([processes.relay.line(/relay started/), processes.shipping.line(/consuming .* as group/), processes.billing.line(/consuming .* as group/)]);
  return { url: `http://127.0.0.1:${port}`, spansDir, processes };
}

async function createOrder(url: string, strategy: 'outbox' | 'naive'): Promise<string> {
  const res = await fetch(`${url}/api/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ORDER, strategy }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { order: { id: string } }).order.id;
}

/** Both consumers logged the effect of the order (handleMessage's "<outcome> order <id> (event …" line). */
const effectsRecorded = (pieces: Lab4, orderId: string) => Promise.all(CONSUMERS.map((c) => pieces.processes[c].line(new RegExp(`order ${orderId} \\(event`))));

/** SIGTERM to every process, awaited: each stops gracefully and shuts its tracer provider down (flushes). */
async function stopAll(pieces: Lab4) {
  const all = Object.values(pieces.processes);
  for (const run of all) run.child.kill('SIGTERM');
  const exits = await Promise.all(all.map((run) => run.exited));
  expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
  await Promise.all(all.map((run) => run.closed));
}

function explain(spans: ReturnType<typeof readSpans>, orderId: string): string {
  const traces = [...new Set(spans.filter((s) => s.attributes['messaging.kafka.message.key'] === orderId || s.attributes['order.id'] === orderId).map((s) => s.traceId))];
  return traces.map((t) => `trace ${t}:\n${renderTrace(spans, t)}`).join('\n');
}

describe('tracing: one trace from the HTTP request to the consumers', () => {
  it('outbox and naive orders: request → enqueue → publish (relay) / send → process (shipping, billing) → callback → GET server span, and the effect', async () => {
    const pieces = await startPieces('relay');
    const outboxOrder = await createOrder(pieces.url, 'outbox');
    const naiveOrder = await createOrder(pieces.url, 'naive');
    await Promise.all([effectsRecorded(pieces, outboxOrder), effectsRecorded(pieces, naiveOrder)]);
    await stopAll(pieces);

    const spans = readSpans(pieces.spansDir);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['order-service', 'outbox-relay', 'shipping', 'billing']));
    expect(traceProblems(spans, outboxOrder, 'outbox', topic), explain(spans, outboxOrder)).toEqual([]);
    expect(traceProblems(spans, naiveOrder, 'naive', topic), explain(spans, naiveOrder)).toEqual([]);
    // Everything the order caused is in the one trace: 4 services.
    const traceId = spans.find((s) => s.name === 'outbox enqueue' && s.attributes['order.id'] === outboxOrder)!.traceId;
    expect(new Set(spans.filter((s) => s.traceId === traceId).map((s) => s.service)).size).toBe(4);
  });

  it('negative control: a relay that drops the stored trace context — the consumers start another trace and the check fails', async () => {
    const pieces = await startPieces('relay-dropping-trace-context');
    const orderId = await createOrder(pieces.url, 'outbox');
    await effectsRecorded(pieces, orderId);
    await stopAll(pieces);

    const spans = readSpans(pieces.spansDir);
    const problems = traceProblems(spans, orderId, 'outbox', topic);
    expect(problems.join('\n')).toMatch(/outbox-relay "publish .*" should be the child of order-service "outbox enqueue".*it starts a new trace/);
    // The consumers did continue the relay's (new) trace — only the link to the request is gone.
    const publish = spans.find((s) => s.service === 'outbox-relay' && s.attributes['messaging.kafka.message.key'] === orderId)!;
    const request = spans.find((s) => s.name === 'outbox enqueue' && s.attributes['order.id'] === orderId)!;
    expect(publish.traceId).not.toBe(request.traceId);
    for (const consumer of CONSUMERS) {
      const processSpan = spans.find((s) => s.service === consumer && s.kind === 'CONSUMER' && s.attributes['messaging.kafka.message.key'] === orderId)!;
      expect(processSpan.traceId).toBe(publish.traceId);
      expect(processSpan.traceId).not.toBe(request.traceId);
    }
  });
});
