/**
 * Reads the spans the lab's processes exported (OTEL_TRACES_FILE: one JSON object per line) and checks that one
 * order's spans form one trace with the right parents (README "Tracing"). The check returns its findings rather than
 * throwing, so the negative control can show that it does fail on a broken trace.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExportedSpan } from '@dual-write/telemetry';

export function readSpans(dir: string): ExportedSpan[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ExportedSpan));
}

export const CONSUMERS = ['shipping', 'billing'] as const;

/** What is wrong with the trace of `orderId` (empty: it is one trace with every expected parent link). */
export function traceProblems(spans: readonly ExportedSpan[], orderId: string, strategy: 'outbox' | 'naive', topic: string): string[] {
  const problems: string[] = [];
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parentOf = (s: ExportedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
  const childrenOf = (s: ExportedSpan) => spans.filter((c) => c.parentSpanId === s.spanId && c.traceId === s.traceId);
  const expectParent = (child: ExportedSpan, what: string, test: (p: ExportedSpan) => boolean) => {
    const p = parentOf(child);
    if (!p || p.traceId !== child.traceId || !test(p)) {
      problems.push(`${child.service} "${child.name}" should be the child of ${what}, its parent is ${p ? `${p.service} "${p.name}" (trace ${p.traceId})` : child.parentSpanId ? `a span that was not exported (${child.parentSpanId})` : 'none: it starts a new trace'}`);
      return undefined;
    }
    return p;
  };

  const producerName = strategy === 'outbox' ? 'outbox enqueue' : `send ${topic}`;
  const producer = spans.filter((s) => s.service === 'order-service' && s.name === producerName && s.attributes['order.id'] === orderId);
  if (producer.length !== 1) return [`expected one order-service "${producerName}" span for order ${orderId}, found ${producer.length}`];
  const request = expectParent(producer[0]!, 'the request span (order-service SERVER "POST /api/v1/orders")', (p) => p.service === 'order-service' && p.kind === 'SERVER' && p.name === 'POST /api/v1/orders');
  if (!request) return problems;
  const traceId = request.traceId;
  if (request.parentSpanId) problems.push('the request span should be the root of the trace');
  if (strategy === 'outbox') {
    const inserts = childrenOf(producer[0]!).filter((s) => s.kind === 'CLIENT' && String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '').toLowerCase().includes('insert into'));
    if (inserts.length === 0) problems.push('the outbox INSERT (a pg CLIENT span) should be a child of "outbox enqueue"');
  } else if (producer[0]!.kind !== 'PRODUCER') problems.push('the naive send span should be a PRODUCER span');

  // The relay's publish span (outbox) continues the stored context; the consumers continue the publish (or send) span.
  // (At least once: a redelivered message has a span per delivery — each must be linked the same way.)
  let upstream = [producer[0]!];
  if (strategy === 'outbox') {
    const publishes = spans.filter((s) => s.service === 'outbox-relay' && s.attributes['messaging.kafka.message.key'] === orderId);
    if (publishes.length === 0) return [...problems, `expected an outbox-relay publish span for order ${orderId}, found none`];
    for (const publish of publishes) {
      if (publish.name !== `publish ${topic}` || publish.kind !== 'PRODUCER') problems.push(`the relay's span should be PRODUCER "publish ${topic}", is ${publish.kind} "${publish.name}"`);
      expectParent(publish, 'order-service "outbox enqueue" (the context stored with the row)', (p) => p.spanId === producer[0]!.spanId);
    }
    if (problems.length) return problems;
    upstream = publishes;
  }
  const upstreamIds = new Set(upstream.map((u) => u.spanId));
  for (const consumer of CONSUMERS) {
    const processes = spans.filter((s) => s.service === consumer && s.kind === 'CONSUMER' && s.attributes['messaging.kafka.message.key'] === orderId);
    if (processes.length === 0) problems.push(`expected a ${consumer} CONSUMER span for order ${orderId}, found none`);
    for (const process of processes) {
      if (process.name !== `process ${topic}`) problems.push(`${consumer}'s span should be "process ${topic}", is "${process.name}"`);
      if (!expectParent(process, `${upstream[0]!.service} "${upstream[0]!.name}"`, (p) => upstreamIds.has(p.spanId))) continue;
      const children = childrenOf(process);
      const callbacks = children.filter((s) => s.kind === 'CLIENT' && String(s.attributes['url.full'] ?? '').includes(`/api/v1/orders/${orderId}`));
      if (callbacks.length === 0) problems.push(`${consumer}: the callback GET /api/v1/orders/:id (an HTTP CLIENT span) should be a child of its process span`);
      for (const callback of callbacks) {
        const served = spans.filter((s) => s.parentSpanId === callback.spanId);
        if (!served.some((s) => s.service === 'order-service' && s.kind === 'SERVER' && s.name === 'GET /api/v1/orders/:id' && s.traceId === traceId)) {
          problems.push(`${consumer}: the order service's SERVER span "GET /api/v1/orders/:id" should be the child of the callback's CLIENT span`);
        }
      }
      const effect = children.find((s) => s.name === `${consumer} record effect`);
      if (!effect) problems.push(`${consumer}: "${consumer} record effect" should be a child of its process span`);
      else if (!childrenOf(effect).some((s) => s.kind === 'CLIENT' && String(s.attributes['db.query.text'] ?? '').toLowerCase().includes('insert into'))) {
        problems.push(`${consumer}: the effect's INSERT (a pg CLIENT span) should be a child of "${consumer} record effect"`);
      }
    }
  }
  const foreign = spans.filter((s) => s.traceId !== traceId && s.attributes['messaging.kafka.message.key'] === orderId);
  if (foreign.length) problems.push(`spans of order ${orderId} outside its trace ${traceId}: ${foreign.map((s) => `${s.service} "${s.name}"`).join(', ')}`);
  return problems;
}

/** The trace as an indented tree of `service: KIND name` (for the failure message and the README). */
export function renderTrace(spans: readonly ExportedSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId).sort((a, b) => a.start - b.start);
  const ids = new Set(inTrace.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (s: ExportedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${s.service}: ${s.kind} ${s.name}`);
    for (const c of inTrace.filter((c) => c.parentSpanId === s.spanId)) walk(c, depth + 1);
  };
  for (const root of inTrace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId))) walk(root, 0);
  return lines.join('\n');
}
