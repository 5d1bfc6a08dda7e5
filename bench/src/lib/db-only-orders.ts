/**
 * The benchmark's reference for the order API: POST /bench/orders, a plugin of the order service's app
 * (buildApp({ plugins: [dbOnlyOrders] })) that does what POST /api/v1/orders does — the same body schema, the
 * same event built, the same order row through the same Sequelize model, the same 201 serialised — minus the
 * messaging: BEGIN → INSERT order → COMMIT, nothing sent, nothing outboxed. Its rows say `strategy = 'db-only'`.
 *
 * It drops the event on purpose, so it lives here and only the benchmark mounts it: the order service's own
 * POST /api/v1/orders refuses `strategy: "db-only"` (400), and it is in neither WRITE_STRATEGIES,
 * ORDER_WRITE_STRATEGY nor /openapi.json.
 */
import type { AppPlugin, CreateOrderBody } from '@dual-write/order-service';
import { createdOrderJson, createOrderResponseSchema, insertOrder, newOrderCreated, orderBodySchemaFor } from '@dual-write/order-service';

export const DB_ONLY_STRATEGY = 'db-only';
export const DB_ONLY_PATH = '/bench/orders';

type Body = Omit<CreateOrderBody, 'strategy'> & { strategy?: typeof DB_ONLY_STRATEGY };

export const dbOnlyOrders: AppPlugin = (fastify, { context }) => {
  fastify.post<{ Body: Body }>(
    DB_ONLY_PATH,
    {
      schema: {
        hide: true,
        // The orders body, with `strategy` allowed to be only this one: the same validation work.
        body: orderBodySchemaFor([DB_ONLY_STRATEGY]),
        response: createOrderResponseSchema,
      },
    },
    async (request, reply) => {
      // The event is built as for any order (ids, total, timestamp) and never sent; its header would say outbox.
      const event = newOrderCreated(request.body, 'outbox');
      const tx = await context.db.sequelize.transaction();
      try {
        await insertOrder(context.db, event, DB_ONLY_STRATEGY, tx);
        await tx.commit();
      } catch (err) {
        await tx.rollback().catch(() => {});
        throw err;
      }
      return reply.code(201).send(createdOrderJson(event, DB_ONLY_STRATEGY, { outboxed: false }));
    },
  );
};
