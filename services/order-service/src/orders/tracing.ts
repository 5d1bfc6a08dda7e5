/**
 * The order service's own spans (README "Tracing"), through @opentelemetry/api only: without a tracer provider
 * (no exporter configured) every call here is a no-op. The request's SERVER span comes from
 * @opentelemetry/instrumentation-http, the queries' spans from @opentelemetry/instrumentation-pg
 * (@dual-write/telemetry, started by main.ts).
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { inSpan } from '@dual-write/telemetry/spans';
import {
  ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_KAFKA_MESSAGE_KEY, ATTR_MESSAGING_MESSAGE_ID, ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM,
} from '@opentelemetry/semantic-conventions/incubating';

export const tracer = trace.getTracer('@dual-write/order-service');

/** The W3C trace context of the active span (`traceparent`, and `tracestate` when there is one); {} when none. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * `outbox enqueue`: the INSERT of the outbox row, in the request's transaction. The row stores this span's trace
 * context (toOutboxMessage() is called inside it), so the relay's `publish` span is its child.
 */
export function traceEnqueue<T>(event: { eventId: string; orderId: string }, fn: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan('outbox enqueue', {
    kind: SpanKind.INTERNAL,
    attributes: { [ATTR_MESSAGING_MESSAGE_ID]: event.eventId, 'order.id': event.orderId },
  });
  return inSpan(span, fn);
}

/**
 * `send <topic>`: the naive strategies' kafkajs send (PRODUCER, messaging semconv). `fn` gets the headers to add to
 * the message: this span's trace context, so the consumers continue the trace from it. Manual rather than
 * @opentelemetry/instrumentation-kafkajs: one explicit span per send with the same names and attributes as the
 * relay's `publish` (which must use the API only), and no second producer span in the relay's process.
 */
export function traceSend<T>(topic: string, event: { eventId: string; orderId: string }, fn: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(`send ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      [ATTR_MESSAGING_SYSTEM]: 'kafka',
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_MESSAGE_ID]: event.eventId,
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: event.orderId,
      'order.id': event.orderId,
    },
  });
  return inSpan(span, () => fn(traceHeaders()));
}
