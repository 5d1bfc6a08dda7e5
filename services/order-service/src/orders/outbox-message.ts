/** An order's events as outbox rows (Debezium's contract: aggregatetype → topic, aggregateid → key, id → header `id`). */
import type { OutboxMessage } from '@dual-write/outbox';
import { eventSequence, SEQUENCE_HEADER, type OrderEvent } from '@dual-write/schema';
import { traceHeaders } from './tracing.ts';

export const ORDER_AGGREGATE_TYPE = 'order';

/**
 * The row's headers carry the W3C trace context of the active span (`traceparent`, `tracestate` when present) —
 * the relay continues the trace from it (README "Tracing"); without a tracer provider there is none, and no header.
 */
export function toOutboxMessage(event: OrderEvent): OutboxMessage {
  return {
    id: event.eventId,
    aggregateType: ORDER_AGGREGATE_TYPE,
    aggregateId: event.orderId,
    type: event.type,
    payload: event,
    headers: { ...traceHeaders(), strategy: 'outbox', [SEQUENCE_HEADER]: String(eventSequence(event)) },
  };
}
