/** OrderCreated as an outbox row (Debezium's contract: aggregatetype → topic, aggregateid → key, id → header `id`). */
import type { OutboxMessage } from '@dual-write/outbox';
import type { OrderCreatedEvent } from '@dual-write/schema';

export const ORDER_AGGREGATE_TYPE = 'order';

export function toOutboxMessage(event: OrderCreatedEvent): OutboxMessage {
  return {
    id: event.eventId,
    aggregateType: ORDER_AGGREGATE_TYPE,
    aggregateId: event.orderId,
    type: event.type,
    payload: event,
    headers: { strategy: 'outbox' },
  };
}
