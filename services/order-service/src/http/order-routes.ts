/** POST /api/v1/orders, GET /api/v1/orders/:id and POST /api/v1/orders/:id/status (the order's later steps). */
import type { FastifyInstance } from 'fastify';
import { DwError, WRITE_STRATEGIES, type WriteStrategy } from '@dual-write/config';
import type { OrderCreatedEvent } from '@dual-write/schema';
import { createOrderBodySchema, newOrderCreated, type CreateOrderBody } from '../orders/order-input.ts';
import { writeOrder, type WriteOutcome } from '../orders/write-order.ts';
import { advanceOrder, ORDER_STEPS, type OrderStep } from '../orders/order-steps.ts';
import type { OrderRow } from '../db/database.ts';
import type { ServiceContext } from '../service-context.ts';
import { BODY_ERRORS, errorResponses } from './error-schema.ts';

export const orderSchema = {
  type: 'object',
  required: ['id', 'customerId', 'items', 'totalCents', 'status', 'version', 'strategy', 'createdAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    customerId: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' }, priceCents: { type: 'integer' } } } },
    totalCents: { type: 'integer' },
    status: { type: 'string' },
    version: { type: 'integer', minimum: 1, description: 'The sequence of the last event written for the order (1: OrderCreated, 2: OrderPaid, 3: OrderShipped).' },
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
    version: Number(row.version),
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
    order: { id: event.orderId, customerId: event.customerId, items: event.items, totalCents: event.totalCents, status: 'created', version: 1, strategy, createdAt: event.createdAt },
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

  app.post<{ Params: { id: string }; Body: { status: OrderStep } }>(
    '/api/v1/orders/:id/status',
    {
      schema: {
        summary: "Take an order's next step: paid (OrderPaid), then shipped (OrderShipped)",
        description: "One transaction locks the order row, checks the step is the next one (created → paid → shipped), bumps the order's `version` and writes the step's event to the outbox; the relay publishes it on the order's key after OrderCreated. 409 when the step is out of turn.",
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        body: { type: 'object', additionalProperties: false, required: ['status'], properties: { status: { type: 'string', enum: Object.keys(ORDER_STEPS) } }, examples: [{ status: 'paid' }] },
        response: {
          200: {
            description: 'The step was written: the order as it is now, and the event outboxed for it.',
            type: 'object',
            required: ['order', 'eventId', 'eventType', 'sequence', 'outboxed'],
            properties: { order: orderSchema, eventId: { type: 'string' }, eventType: { type: 'string' }, sequence: { type: 'integer' }, outboxed: { type: 'boolean' } },
          },
          ...errorResponses(...BODY_ERRORS, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const { order, event } = await advanceOrder(ctx.db, request.params.id, request.body.status);
      return reply.send({ order: toOrderJson(order), eventId: event.eventId, eventType: event.type, sequence: event.sequence, outboxed: true });
    },
  );
}
