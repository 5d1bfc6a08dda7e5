/**
 * The OrderCreated event, as it travels on Kafka.
 *  - key: the order id (all events of one order land on one partition, in order)
 *  - value: JSON `OrderCreatedEvent`
 *  - headers: `id` = event id (the Debezium outbox router's convention, used to de-duplicate),
 *             `type` = 'OrderCreated', `strategy` = how it was written (naive | outbox)
 */
export const ORDER_CREATED = 'OrderCreated';

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
    headers: { id: event.eventId, type: event.type, strategy: event.strategy },
  };
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
