/**
 * The relay's `publish` spans (README "Tracing"): one PRODUCER span per row, named `publish <topic>` with the
 * messaging semantic conventions, whose parent is the trace context stored with the row (its `traceparent` /
 * `tracestate` headers, written by the producer at enqueue time). The span's own context replaces those headers on
 * the Kafka message, so consumers continue from the publish span. A span ends when Kafka acknowledged its row, or
 * was refused it, or when the batch ends without publishing it (parked key, relay stopping).
 *
 * Only @opentelemetry/api: without a tracer provider registered by the application (an OpenTelemetry SDK) the
 * propagator and tracer are no-ops — the row's headers go to Kafka unchanged and nothing is recorded or kept.
 * (The attribute names are the messaging conventions' — spelled out rather than imported from
 * @opentelemetry/semantic-conventions/incubating, which the conventions ask libraries to copy.)
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { OutboxRow } from '@dual-write/outbox';
import type { OutgoingMessage } from './seams.ts';

export const RELAY_TRACER_NAME = '@dual-write/relay';

const tracer = trace.getTracer(RELAY_TRACER_NAME, '0.1.0');

export class PublishSpans {
  /** Recording spans not ended yet, by row. */
  private readonly open = new Map<OutboxRow, Span>();

  /** Starts the row's span (child of its stored context) and puts the span's context in the message headers. */
  start(row: OutboxRow, topic: string, message: OutgoingMessage): void {
    const parent = propagation.extract(ROOT_CONTEXT, message.headers);
    const span = tracer.startSpan(
      `publish ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.name': 'publish',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(message.partition),
          'messaging.message.id': row.id,
          'messaging.kafka.message.key': message.key,
          'outbox.position': row.position,
          'outbox.attempts': row.attempts,
        },
      },
      parent,
    );
    if (!span.isRecording()) return; // no SDK: the row's own trace headers travel on unchanged
    propagation.inject(trace.setSpan(context.active(), span), message.headers);
    this.open.set(row, span);
  }

  /** Kafka acknowledged the row (error undefined) or refused it. */
  end(row: OutboxRow, error?: string): void {
    const span = this.open.get(row);
    if (!span) return;
    this.open.delete(row);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  }

  /** Ends the spans of rows the batch left in the outbox (they get a new span when published later). */
  endUnfinished(rows: readonly OutboxRow[]): void {
    if (this.open.size === 0) return;
    for (const row of rows) this.end(row, 'not published in this batch: left in the outbox (a parked key, or the relay stopping)');
  }
}
