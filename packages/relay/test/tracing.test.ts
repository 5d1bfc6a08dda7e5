/**
 * The relay's publish spans (src/tracing.ts) with no OpenTelemetry SDK in the process — the relay's default: the
 * API is a no-op, the row's own trace headers go to Kafka unchanged and nothing is kept per row. (With an SDK, the
 * lab's services/lab/test/trace.test.ts checks the spans and their parents end to end.)
 */
import { describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import type { OutboxRow } from '@dual-write/outbox';
import { toKafkaMessage } from '../src/index.ts';
import { PublishSpans } from '../src/tracing.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const row = (i: number): OutboxRow =>
  ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, aggregatetype: 'order', aggregateid: `o-${i}`, type: 'OrderCreated', payload: { i }, headers: { traceparent, tracestate: 'k=v' }, created_at: new Date(0), position: String(i), transaction_id: '1', attempts: 0 }) as unknown as OutboxRow;

describe('publish spans without an SDK', () => {
  it('leave the stored traceparent/tracestate on the message as they are, keep nothing, and cost little', () => {
    expect(trace.getTracer('x').startSpan('x').isRecording()).toBe(false); // no provider registered here
    const spans = new PublishSpans();
    const m = toKafkaMessage(row(1), 0);
    const before = { ...m.headers };
    spans.start(row(1), 'orders', m);
    expect(m.headers).toEqual(before);
    expect(m.headers).toMatchObject({ traceparent, tracestate: 'k=v' });
    expect((spans as unknown as { open: Map<unknown, unknown> }).open.size).toBe(0);
    spans.end(row(1));
    spans.endUnfinished([row(1)]);

    // 20 000 rows through start/end: a no-op span each, far below the relay's cost per row (it publishes ~1e5/s at best).
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i));
    const messages = rows.map((r) => toKafkaMessage(r, 0));
    const t0 = performance.now();
    rows.forEach((r, i) => spans.start(r, 'orders', messages[i]!));
    for (const r of rows) spans.end(r);
    const perRowUs = ((performance.now() - t0) * 1000) / rows.length;
    expect(perRowUs).toBeLessThan(20);
  });
});
