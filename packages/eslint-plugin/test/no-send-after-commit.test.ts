/** no-send-after-commit: the black-hole shape — a send after a commit of a transaction that wrote no outbox row. */
import { rules } from '../src/index.js';
import { handler, ruleTester } from './rule-tester.ts';

const rule = rules['no-send-after-commit'];
const error = (commit: string, call = 'producer.send') => ({ messageId: 'sendAfterCommit', data: { call, commit } });
const SEND = `await producer.send({ topic: 'orders', messages: [toMessage(order)] });`;

ruleTester.run('no-send-after-commit', rule, {
  valid: [
    // The outbox: enqueue() in the transaction; an eager send after the commit is then only a fast path.
    handler(`
      await sequelize.transaction(async (t) => {
        await Order.create(order, { transaction: t });
        await enqueue(sequelizeExecutor(sequelize, t), toMessage(order));
      });
      ${SEND}`),
    handler(`
      const t = await sequelize.transaction();
      await Order.create(order, { transaction: t });
      await enqueue(sequelizeExecutor(sequelize, t), toMessage(order));
      await t.commit();
      ${SEND}`),
    handler(`
      await knex.transaction(async (trx) => {
        await trx('orders').insert(order);
        await enqueue(knexExecutor(trx), toMessage(order));
      });
      ${SEND}`),
    // Prisma: an outbox model written in the transaction (the default outboxPattern matches \`outbox\`).
    handler(`
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: order });
        await tx.outboxEvent.create({ data: toMessage(order) });
      });
      ${SEND}`),
    handler(`
      await db.transaction(async (tx) => {
        await tx.insert(orders).values(order);
        await enqueue(drizzleExecutor(tx), toMessage(order));
      });
      ${SEND}`),
    handler(`
      const trx = await db.startTransaction().execute();
      await trx.insertInto('orders').values(order).execute();
      await enqueue(kyselyExecutor(trx), toMessage(order));
      await trx.commit().execute();
      ${SEND}`),
    handler(`
      await dataSource.manager.transaction(async (manager) => {
        await manager.save(Order, order);
        await enqueue(typeormExecutor(manager), toMessage(order));
      });
      ${SEND}`),
    // pg: a raw INSERT INTO outbox counts as the outbox too.
    handler(`
      await client.query('BEGIN');
      await client.query('INSERT INTO orders (id) VALUES ($1)', [order.id]);
      await client.query('INSERT INTO public.outbox (aggregatetype, aggregateid, type, payload) VALUES ($1, $2, $3, $4)', row);
      await client.query('COMMIT');
      ${SEND}`),
    // No commit before the send, or the send does not run after it (returned first, or only when the commit failed).
    handler(`
      ${SEND}
      await db.transaction(async (tx) => { await tx.insert(orders).values(order); });`),
    `async function finish(t, producer, done) {
      if (done) {
        await t.commit();
        return;
      }
      ${SEND}
    }`,
    handler(`
      const t = await sequelize.transaction();
      try {
        await Order.create(order, { transaction: t });
        await t.commit();
      } catch (err) {
        await producer.send({ topic: 'order-failures', messages: [{ value: String(err) }] });
      }`),
    // A send inside the next transaction is no-broker-send-in-transaction's finding, not this rule's.
    handler(`
      await db.transaction(async (tx) => { await tx.insert(orders).values(order); });
      await db.transaction(async (tx) => { ${SEND} });`),
    // kafkajs' transaction commit is Kafka's.
    handler(`
      const txn = await producer.transaction();
      await txn.send({ topic: 'orders', messages: [toMessage(order)] });
      await txn.commit();
      ${SEND}`),
    // Configured outbox call names.
    {
      code: handler(`
        await knex.transaction(async (trx) => {
          await trx('orders').insert(order);
          await events.record(trx, toMessage(order));
        });
        ${SEND}`),
      options: [{ outboxCalls: ['events.record'] }],
    },
  ],
  invalid: [
    // Sequelize: managed, unmanaged, and the lab's naive-after-commit shape (commit in a try, send after it).
    {
      code: handler(`
        await sequelize.transaction(async (t) => {
          await Order.create(order, { transaction: t });
        });
        ${SEND}`),
      errors: [error('`sequelize.transaction(…)`')],
    },
    {
      code: handler(`
        const t = await sequelize.transaction();
        await Order.create(order, { transaction: t });
        await t.commit();
        ${SEND}`),
      errors: [error('`t.commit()`')],
    },
    {
      code: handler(`
        const tx = await deps.db.sequelize.transaction();
        try {
          await insertOrder(deps.db, event, tx);
          if (strategy === 'outbox') {
            await enqueue(sequelizeExecutor(deps.db.sequelize, tx), toOutboxMessage(event));
            await tx.commit();
            return outcome;
          }
          await tx.commit();
          outcome.committed = true;
        } catch (err) {
          await tx.rollback().catch(() => {});
          throw err;
        }
        try {
          outcome.published = await deps.publisher.publish(event);
        } catch (err) {
          outcome.publishError = err;
        }
        return outcome;`),
      errors: [error('`tx.commit()`', 'deps.publisher.publish')],
    },
    // Knex: the result of the transaction, then the send.
    {
      code: handler(`
        const [id] = await knex.transaction(async (trx) => trx('orders').insert(order).returning('id'));
        ${SEND}`),
      errors: [error('`knex.transaction(…)`')],
    },
    // Prisma: interactive and array forms.
    {
      code: handler(`
        const created = await prisma.$transaction(async (tx) => tx.order.create({ data: order }));
        await producer.send({ topic: 'orders', messages: [toMessage(created)] });`),
      errors: [error('`prisma.$transaction(…)`')],
    },
    {
      code: handler(`
        await prisma.$transaction([prisma.order.create({ data: order })]);
        ${SEND}`),
      errors: [error('`prisma.$transaction(…)`')],
    },
    // Drizzle, with the send in an enclosing block after the transaction's if.
    {
      code: handler(`
        if (order.items.length > 0) {
          await db.transaction(async (tx) => { await tx.insert(orders).values(order); });
        }
        await broker.publish('orders', order);`),
      errors: [error('`db.transaction(…)`', 'broker.publish')],
    },
    // Kysely: managed and controlled.
    {
      code: handler(`
        await db.transaction().execute(async (trx) => { await trx.insertInto('orders').values(order).execute(); });
        ${SEND}`),
      errors: [error('`db.transaction().execute(…)`')],
    },
    {
      code: handler(`
        const trx = await db.startTransaction().execute();
        await trx.insertInto('orders').values(order).execute();
        await trx.commit().execute();
        ${SEND}`),
      errors: [error('`trx.commit()`')],
    },
    // TypeORM: EntityManager and QueryRunner.
    {
      code: handler(`
        await dataSource.manager.transaction(async (manager) => { await manager.save(Order, order); });
        ${SEND}`),
      errors: [error('`dataSource.manager.transaction(…)`')],
    },
    {
      code: handler(`
        await queryRunner.startTransaction();
        await queryRunner.manager.save(Order, order);
        await queryRunner.commitTransaction();
        await kafka.producer().send({ topic: 'orders', messages: [toMessage(order)] });`),
      errors: [error('`queryRunner.commitTransaction()`', 'kafka.producer().send')],
    },
    // pg: COMMIT, then the send.
    {
      code: handler(`
        await client.query('BEGIN');
        await client.query('INSERT INTO orders (id) VALUES ($1)', [order.id]);
        await client.query('COMMIT');
        ${SEND}`),
      errors: [error("`client.query('COMMIT')`")],
    },
    // A transaction this function did not open, committed here: a parameter called t / tx / trx / …transaction.
    {
      code: `async function finish(transaction, producer) {
        await transaction.commit();
        ${SEND}
      }`,
      errors: [error('`transaction.commit()`')],
    },
    // Options: an extra send callee, an outbox call that is not configured.
    {
      code: handler(`
        await knex.transaction(async (trx) => {
          await trx('orders').insert(order);
          await events.record(trx, toMessage(order));
        });
        await publishOrderCreated(order);`),
      options: [{ sendCalls: ['publishOrderCreated'] }],
      errors: [error('`knex.transaction(…)`', 'publishOrderCreated')],
    },
  ],
});
