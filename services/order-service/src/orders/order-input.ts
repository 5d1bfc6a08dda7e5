/** The POST /api/v1/orders body: its JSON schema (Fastify validates it) and the server-side total. */
import { randomUUID } from 'node:crypto';
import { WRITE_STRATEGIES, type WriteStrategy } from '@dual-write/config';
import { ORDER_CREATED, type OrderCreatedEvent, type OrderItem } from '@dual-write/schema';

export interface CreateOrderBody {
  customerId: string;
  items: OrderItem[];
  strategy?: WriteStrategy;
}

/** The body schema with `strategy` limited to `strategies` (the benchmark's DB-only route allows only its own). */
export function orderBodySchemaFor(strategies: readonly string[]) {
  return { ...createOrderBodySchema, properties: { ...createOrderBodySchema.properties, strategy: { type: 'string', enum: [...strategies] } } } as const;
}

export const createOrderBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['customerId', 'items'],
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@-]+$' },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'qty', 'priceCents'],
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' },
          qty: { type: 'integer', minimum: 1, maximum: 1000 },
          priceCents: { type: 'integer', minimum: 0, maximum: 100_000_000 },
        },
      },
    },
    strategy: { type: 'string', enum: [...WRITE_STRATEGIES] },
  },
  examples: [{ customerId: 'alice', items: [{ sku: 'BOOK-001', qty: 2, priceCents: 4599 }] }],
} as const;

export function totalCents(items: OrderItem[]): number {
  return items.reduce((sum, i) => sum + i.qty * i.priceCents, 0);
}

export function newOrderCreated(body: Pick<CreateOrderBody, 'customerId' | 'items'>, strategy: WriteStrategy): OrderCreatedEvent {
  return {
    eventId: randomUUID(),
    type: ORDER_CREATED,
    orderId: randomUUID(),
    customerId: body.customerId,
    items: body.items.map((i) => ({ sku: i.sku, qty: i.qty, priceCents: i.priceCents })),
    totalCents: totalCents(body.items),
    strategy: strategy.startsWith('naive') ? 'naive' : 'outbox',
    createdAt: new Date().toISOString(),
  };
}
