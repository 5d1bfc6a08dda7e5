/**
 * A step of the API throughput decomposition: POST /bench/orders-second-insert does what the benchmark's DB-only
 * route does (./db-only-orders.ts: the service's body validation, event and order row, same 201) plus a second
 * INSERT of exactly the outbox row's size — the same columns, values and defaults (bigserial position, xid8
 * transaction id), through the same enqueue() statement — into `bench_second_insert`, a copy of the outbox table
 * without its triggers: no NOTIFY at commit, no per-key advisory lock. Its cost is "one more row in the
 * transaction", nothing the outbox adds on top. Only the benchmark mounts it; its orders say `strategy = 'second-insert'`.
 */
import type pg from 'pg';
import { enqueue, sequelizeExecutor } from '@dual-write/outbox';
import type { AppPlugin, CreateOrderBody } from '@dual-write/order-service';
import { createdOrderJson, createOrderResponseSchema, insertOrder, newOrderCreated, orderBodySchemaFor } from '@dual-write/order-service';

export const SECOND_INSERT_STRATEGY = 'second-insert';
export const SECOND_INSERT_PATH = '/bench/orders-second-insert';
export const SECOND_INSERT_TABLE = 'bench_second_insert';

/** The outbox's columns, defaults, constraints and indexes — no triggers (LIKE never copies them). */
export async function createSecondInsertTable(c: pg.ClientBase): Promise<void> {
  await c.query(`create table if not exists ${SECOND_INSERT_TABLE} (like outbox including defaults including constraints including indexes)`);
}

type Body = Omit<CreateOrderBody, 'strategy'> & { strategy?: typeof SECOND_INSERT_STRATEGY };

export const secondInsertOrders: AppPlugin = (fastify, { context }) => {
  fastify.post<{ Body: Body }>(
    SECOND_INSERT_PATH,
    { schema: { hide: true, body: orderBodySchemaFor([SECOND_INSERT_STRATEGY]), response: createOrderResponseSchema } },
    async (request, reply) => {
      const event = newOrderCreated(request.body, 'outbox');
      const tx = await context.db.sequelize.transaction();
      try {
        await insertOrder(context.db, event, SECOND_INSERT_STRATEGY, tx);
        // The message the outbox strategy writes (order-service's toOutboxMessage), into the trigger-less copy.
        await enqueue(
          sequelizeExecutor(context.db.sequelize, tx),
          { id: event.eventId, aggregateType: 'order', aggregateId: event.orderId, type: event.type, payload: event, headers: { strategy: 'outbox' } },
          { table: SECOND_INSERT_TABLE },
        );
        await tx.commit();
      } catch (err) {
        await tx.rollback().catch(() => {});
        throw err;
      }
      return reply.code(201).send(createdOrderJson(event, SECOND_INSERT_STRATEGY, { outboxed: false }));
    },
  );
};
