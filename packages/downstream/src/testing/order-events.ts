/** Builds order events (OrderCreated, OrderPaid, OrderShipped) and puts them on a topic, the way the order service does. */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { encodeOrderEvent, ORDER_CREATED, ORDER_EVENT_TYPES, type OrderCreatedEvent, type OrderEvent, type OrderStatusEvent } from '@dual-write/schema';
import type { KafkaSource } from '../effect.ts';

/** A valid OrderCreated event with fresh ids; override any field. */
export function orderCreatedEvent(overrides: Partial<OrderCreatedEvent> = {}): OrderCreatedEvent {
  const items = overrides.items ?? [{ sku: 'BOOK-001', qty: 2, priceCents: 4599 }];
  return {
    eventId: randomUUID(),
    type: ORDER_CREATED,
    orderId: randomUUID(),
    customerId: 'customer-1',
    items,
    totalCents: items.reduce((sum, i) => sum + i.qty * i.priceCents, 0),
    strategy: 'naive',
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

/** A later step of order `orderId`: OrderPaid (sequence 2) or OrderShipped (3), with a fresh event id. */
export function orderStatusEvent(orderId: string, type: OrderStatusEvent['type'], sequence: number): OrderStatusEvent {
  return { eventId: randomUUID(), type, orderId, sequence, occurredAt: new Date().toISOString() };
}

type RawMessage = { key?: string | null; value: string | Buffer | null; headers?: Record<string, string> };

/** Sends one message (an event, or raw bytes for malformed cases) and returns where it landed. */
export async function produceMessage(producer: Producer, topic: string, message: OrderEvent | RawMessage, partition?: number): Promise<KafkaSource> {
  const raw: RawMessage = 'type' in message && (ORDER_EVENT_TYPES as readonly string[]).includes(message.type) ? encodeOrderEvent(message) : (message as RawMessage);
  const [meta] = await producer.send({ topic, messages: [{ ...raw, ...(partition === undefined ? {} : { partition }) }] });
  if (!meta || meta.baseOffset === undefined) throw new Error(`no record metadata for the message sent to ${topic}`);
  return { topic, partition: meta.partition, offset: meta.baseOffset };
}
