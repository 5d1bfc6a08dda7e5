/**
 * An order's events, as they travel on Kafka: OrderCreated, then OrderPaid, then OrderShipped — one stream per order.
 *  - key: the order id (all events of one order land on one partition, in order)
 *  - value: JSON `OrderCreatedEvent` / `OrderStatusEvent`
 *  - headers: `id` = event id (the Debezium outbox router's convention, used to de-duplicate),
 *             `type` = the event type, `strategy` = how it was written (naive | outbox),
 *             `seq` = the event's place in its order's stream (1 for OrderCreated; the auditor's order check reads it)
 */
export const ORDER_CREATED = 'OrderCreated';
export const ORDER_PAID = 'OrderPaid';
export const ORDER_SHIPPED = 'OrderShipped';
export const ORDER_EVENT_TYPES = [ORDER_CREATED, ORDER_PAID, ORDER_SHIPPED] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/** The header that carries an event's place in its order's stream. */
export const SEQUENCE_HEADER = 'seq';

export interface OrderItem {
  sku: string;
  qty: number;
  priceCents: number;
}

export interface OrderCreatedEvent {
  eventId: string;
  type: typeof ORDER_CREATED;
  orderId: string;
  customerId: string;
  items: OrderItem[];
  totalCents: number;
  strategy: 'naive' | 'outbox';
  createdAt: string;
  /** Its place in the order's stream: always 1 (absent in events written before streams existed: read as 1). */
  sequence?: 1;
}

/** A later step of an order, written by its own transaction that locks the order row: OrderPaid, OrderShipped. */
export interface OrderStatusEvent {
  eventId: string;
  type: typeof ORDER_PAID | typeof ORDER_SHIPPED;
  orderId: string;
  /** Its place in the order's stream: 2 for OrderPaid, 3 for OrderShipped (the order row's version after the step). */
  sequence: number;
  occurredAt: string;
}

export type OrderEvent = OrderCreatedEvent | OrderStatusEvent;

/** An event's place in its order's stream (OrderCreated without the field: 1). */
export function eventSequence(event: OrderEvent): number {
  return event.type === ORDER_CREATED ? 1 : event.sequence;
}

export interface KafkaMessageLike {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export function encodeOrderCreated(event: OrderCreatedEvent): { key: string; value: string; headers: Record<string, string> } {
  return {
    key: event.orderId,
    value: JSON.stringify(event),
    headers: { id: event.eventId, type: event.type, strategy: event.strategy, [SEQUENCE_HEADER]: '1' },
  };
}

/** Any event of an order's stream as the order service's outbox publishes it: key, JSON value, headers id/type/seq. */
export function encodeOrderEvent(event: OrderEvent): { key: string; value: string; headers: Record<string, string> } {
  if (event.type === ORDER_CREATED) return encodeOrderCreated(event);
  return { key: event.orderId, value: JSON.stringify(event), headers: { id: event.eventId, type: event.type, strategy: 'outbox', [SEQUENCE_HEADER]: String(event.sequence) } };
}

export function headerString(message: KafkaMessageLike, name: string): string | undefined {
  const h = message.headers?.[name];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined ? undefined : v.toString();
}

/** Parses and checks a message; throws with the reason when it is not an OrderCreated event. */
export function decodeOrderCreated(message: KafkaMessageLike): OrderCreatedEvent {
  if (message.value === null) throw new Error('message has no value');
  const parsed = JSON.parse(message.value.toString()) as Partial<OrderCreatedEvent>;
  if (parsed.type !== ORDER_CREATED) throw new Error(`not an ${ORDER_CREATED} event (type=${String(parsed.type)})`);
  for (const field of ['eventId', 'orderId', 'customerId', 'createdAt'] as const) {
    if (typeof parsed[field] !== 'string') throw new Error(`${ORDER_CREATED} event without ${field}`);
  }
  if (typeof parsed.totalCents !== 'number') throw new Error(`${ORDER_CREATED} event without totalCents`);
  return parsed as OrderCreatedEvent;
}

/** Parses and checks a message of an order's stream (OrderCreated, OrderPaid, OrderShipped); throws with the reason otherwise. */
export function decodeOrderEvent(message: KafkaMessageLike): OrderEvent {
  if (message.value === null) throw new Error('message has no value');
  const parsed = JSON.parse(message.value.toString()) as Omit<Partial<OrderStatusEvent>, 'type'> & { type?: unknown };
  if (parsed.type === ORDER_CREATED) return decodeOrderCreated(message);
  if (parsed.type !== ORDER_PAID && parsed.type !== ORDER_SHIPPED) throw new Error(`not an order event (type=${String(parsed.type)}; expected one of ${ORDER_EVENT_TYPES.join(', ')})`);
  for (const field of ['eventId', 'orderId', 'occurredAt'] as const) {
    if (typeof parsed[field] !== 'string') throw new Error(`${parsed.type} event without ${field}`);
  }
  if (!Number.isInteger(parsed.sequence) || (parsed.sequence as number) < 2) throw new Error(`${parsed.type} event without a sequence ≥ 2`);
  return parsed as OrderStatusEvent;
}
