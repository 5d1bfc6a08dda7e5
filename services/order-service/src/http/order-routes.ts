/** POST /api/v1/orders and GET /api/v1/orders/:id. */
import type { FastifyInstance } from 'fastify';
import { DwError, WRITE_STRATEGIES, type WriteStrategy } from '@dual-write/config';
import type { OrderCreatedEvent } from '@dual-write/schema';
import { createOrderBodySchema, newOrderCreated, type CreateOrderBody } from '../orders/order-input.ts';
import { writeOrder, type WriteOutcome } from '../orders/write-order.ts';
import type { OrderRow } from '../db/database.ts';
import type { ServiceContext } from '../service-context.ts';
import { BODY_ERRORS, errorResponses } from './error-schema.ts';

export const orderSchema = {
  type: 'object',
  required: ['id', 'customerId', 'items', 'totalCents', 'status', 'strategy', 'createdAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    customerId: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' }, priceCents: { type: 'integer' } } } },
    totalCents: { type: 'integer' },
    status: { type: 'string' },
    strategy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export function toOrderJson(row: OrderRow) {
  return {
    id: row.id,
    customerId: row.customer_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    status: row.status,
    strategy: row.strategy,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** The responses of POST /api/v1/orders (the benchmark's DB-only route answers the same). */
export const createOrderResponseSchema = {
  201: {
    description: 'The order was written (and, depending on the strategy, published or outboxed).',
    type: 'object',
    required: ['order', 'eventId', 'published', 'outboxed', 'kafka'],
    properties: {
      order: orderSchema,
      eventId: { type: 'string' },
      published: { type: 'boolean' },
      outboxed: { type: 'boolean' },
      kafka: { type: ['object', 'null'], properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: 'string' } } },
    },
  },
  ...errorResponses(...BODY_ERRORS, 503),
} as const;

/** The 201 body for an order written with `strategy` (what its row's `strategy` column says). */
export function createdOrderJson(event: OrderCreatedEvent, strategy: string, outcome: Pick<WriteOutcome, 'published' | 'outboxed'>) {
  return {
    order: { id: event.orderId, customerId: event.customerId, items: event.items, totalCents: event.totalCents, status: 'created', strategy, createdAt: event.createdAt },
    eventId: event.eventId,
    published: outcome.published !== undefined,
    outboxed: outcome.outboxed,
    kafka: outcome.published ?? null,
  };
}

export function registerOrderRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Body: CreateOrderBody; Querystring: { strategy?: WriteStrategy } }>(
    '/api/v1/orders',
    {
      schema: {
        summary: 'Create an order and publish OrderCreated',
        description: 'The total is computed by the server. `strategy` (body or query) picks the write strategy; default ORDER_WRITE_STRATEGY. With `outbox` the response comes back without touching Kafka (`published: false, outboxed: true`); the relay publishes.',
        body: createOrderBodySchema,
        querystring: { type: 'object', additionalProperties: false, properties: { strategy: { type: 'string', enum: [...WRITE_STRATEGIES] } } },
        response: createOrderResponseSchema,
      },
    },
    async (request, reply) => {
      const strategy: WriteStrategy = request.body.strategy ?? request.query.strategy ?? ctx.config.orderService.writeStrategy;
      const event = newOrderCreated(request.body, strategy);
      const outcome = await writeOrder(ctx, event, strategy);
      if (outcome.publishError) {
        // The naive-after-commit flaw: the order is saved, the event is gone, and the client is told "success".
        request.log.error({ orderId: event.orderId, err: outcome.publishError }, 'OrderCreated not published after commit; nothing will retry it');
      }
      return reply.code(201).send(createdOrderJson(event, strategy, outcome));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/orders/:id',
    {
      schema: {
        summary: 'Read an order (downstream services call this back)',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        response: { 200: { ...orderSchema, description: 'The order.' }, ...errorResponses(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const row = await ctx.db.Order.findByPk(request.params.id, { raw: true });
      if (!row) throw new DwError('DW_NOT_FOUND', `Order ${request.params.id} does not exist.`, 'Check the id. An OrderCreated event for an order that does not exist is a zombie message.');
      return reply.send(toOrderJson(row as unknown as OrderRow));
    },
  );
}
