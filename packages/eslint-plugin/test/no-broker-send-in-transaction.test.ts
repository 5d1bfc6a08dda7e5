/** no-broker-send-in-transaction: one valid and one invalid case (at least) for every ORM/client it knows. */
import { rules } from '../src/index.js';
import { handler, ruleTester, tsRuleTester } from './rule-tester.ts';

const rule = rules['no-broker-send-in-transaction'];
const error = (scope: string, call = 'producer.send') => ({ messageId: 'sendInTransaction', data: { call, scope } });

ruleTester.run('no-broker-send-in-transaction', rule, {
  valid: [
    // Sequelize (managed): the outbox row is written in the transaction; nothing talks to Kafka.
    handler(`
      await sequelize.transaction(async (t) => {
        await Order.create(order, { transaction: t });
        await enqueue(sequelizeExecutor(sequelize, t), toMessage(order));
      });`),
    // Sequelize (unmanaged): a send after the commit is not *in* the transaction (no-send-after-commit's business).
    handler(`
      const t = await sequelize.transaction();
      await Order.create(order, { transaction: t });
      await t.commit();
      await producer.send({ topic: 'orders', messages: [toMessage(order)] });`),
    // Knex
    handler(`
      await knex.transaction(async (trx) => {
        await trx('orders').insert(order);
        await enqueue(knexExecutor(trx), toMessage(order));
      });`),
    // Prisma: the interactive form with the outbox, and the array form (no callback to send from).
    handler(`
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: order });
        await enqueue(prismaExecutor(tx), toMessage(order));
      });`),
    handler(`await prisma.$transaction([prisma.order.create({ data: order }), prisma.audit.create({ data: { orderId: order.id } })]);`),
    // Drizzle
    handler(`
      await db.transaction(async (tx) => {
        await tx.insert(orders).values(order);
        await enqueue(drizzleExecutor(tx), toMessage(order));
      });`),
    // Kysely (managed and controlled)
    handler(`
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('orders').values(order).execute();
        await enqueue(kyselyExecutor(trx), toMessage(order));
      });`),
    handler(`
      const trx = await db.startTransaction().execute();
      await trx.insertInto('orders').values(order).execute();
      await trx.commit().execute();`),
    // TypeORM (EntityManager and QueryRunner)
    handler(`
      await dataSource.manager.transaction(async (manager) => {
        await manager.save(Order, order);
        await enqueue(typeormExecutor(manager), toMessage(order));
      });`),
    handler(`
      await queryRunner.startTransaction();
      await queryRunner.manager.save(Order, order);
      await queryRunner.commitTransaction();
      await queryRunner.release();`),
    // pg: BEGIN … COMMIT with the outbox; a send before BEGIN is outside the transaction.
    handler(`
      await producer.send({ topic: 'audit', messages: [{ value: 'start' }] });
      await client.query('BEGIN');
      await client.query('INSERT INTO orders (id) VALUES ($1)', [order.id]);
      await enqueue(pgExecutor(client), toMessage(order));
      await client.query('COMMIT');`),
    // Not a broker: Fastify's reply.send, process.send, a mailer — the receiver does not match the pattern.
    handler(`
      await db.transaction(async (tx) => {
        await tx.insert(orders).values(order);
        process.send({ created: order.id });
        await mailer.send({ to: order.email });
      });
      return reply.send(order);`),
    // kafkajs' own transactions are Kafka's, not the database's.
    handler(`
      const txn = await producer.transaction();
      await txn.send({ topic: 'orders', messages: [toMessage(order)] });
      await txn.commit();`),
    // Limits (documented): a send in a function the scope calls, or a callback passed by reference, is not seen.
    handler(`
      await db.transaction(async (tx) => {
        await tx.insert(orders).values(order);
        await notifyShipping(order);
      });
      await db.transaction(writeOrderAndPublish);`),
    // A custom send is only a send when configured.
    handler(`
      await knex.transaction(async (trx) => {
        await trx('orders').insert(order);
        await publishOrderCreated(order);
        await bus.dispatch(order);
      });`),
  ],
  invalid: [
    // Sequelize, managed (with and without options)
    {
      code: handler(`
        await sequelize.transaction(async (t) => {
          await Order.create(order, { transaction: t });
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`sequelize.transaction(…)` callback')],
    },
    {
      code: handler(`
        await sequelize.transaction({ isolationLevel: 'SERIALIZABLE' }, async (t) => {
          await Order.create(order, { transaction: t });
          await this.kafka.producer.sendBatch({ topicMessages: [{ topic: 'orders', messages: [toMessage(order)] }] });
        });`),
      errors: [error('`sequelize.transaction(…)` callback', 'this.kafka.producer.sendBatch')],
    },
    // Sequelize, unmanaged: between `sequelize.transaction()` and `t.commit()` — the lab's naive strategy.
    {
      code: handler(`
        const t = await sequelize.transaction();
        try {
          await Order.create(order, { transaction: t });
          await deps.publisher.publish(event);
          await t.commit();
        } catch (err) {
          await t.rollback();
          throw err;
        }`),
      errors: [error('`t = sequelize.transaction()`', 'deps.publisher.publish')],
    },
    // Knex, managed and unmanaged
    {
      code: handler(`
        await knex.transaction(async (trx) => {
          await trx('orders').insert(order);
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`knex.transaction(…)` callback')],
    },
    {
      code: handler(`
        let trx;
        trx = await knex.transaction();
        await trx('orders').insert(order);
        await kafkaProducer.send({ topic: 'orders', messages: [toMessage(order)] });
        await trx.commit();`),
      errors: [error('`trx = knex.transaction()`', 'kafkaProducer.send')],
    },
    // Prisma, interactive
    {
      code: handler(`
        return prisma.$transaction(async (tx) => {
          const created = await tx.order.create({ data: order });
          await producer.send({ topic: 'orders', messages: [toMessage(created)] });
          return created;
        });`),
      errors: [error('`prisma.$transaction(…)` callback')],
    },
    // Drizzle, with the send in a nested callback (it still runs inside the transaction)
    {
      code: handler(`
        await db.transaction(async (tx) => {
          await tx.insert(orders).values(order);
          await Promise.all(order.items.map((item) => broker.publish('items', item)));
        });`),
      errors: [error('`db.transaction(…)` callback', 'broker.publish')],
    },
    // Kysely: transaction().execute(cb), with an isolation level, and a controlled transaction
    {
      code: handler(`
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('orders').values(order).execute();
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`db.transaction().execute(…)` callback')],
    },
    {
      code: handler(`
        await db.transaction().setIsolationLevel('serializable').execute(async (trx) => {
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error("`db.transaction().setIsolationLevel('serializable').execute(…)` callback")],
    },
    {
      code: handler(`
        const trx = await db.startTransaction().execute();
        await trx.insertInto('orders').values(order).execute();
        await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        await trx.commit().execute();`),
      errors: [error('`trx = db.startTransaction()`')],
    },
    // TypeORM: EntityManager (with an isolation level) and QueryRunner
    {
      code: handler(`
        await dataSource.manager.transaction('SERIALIZABLE', async (manager) => {
          await manager.save(Order, order);
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`dataSource.manager.transaction(…)` callback')],
    },
    {
      code: handler(`
        await queryRunner.startTransaction();
        try {
          await queryRunner.manager.save(Order, order);
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
          await queryRunner.commitTransaction();
        } catch (err) {
          await queryRunner.rollbackTransaction();
        }`),
      errors: [error('`queryRunner.startTransaction()`')],
    },
    // pg: between BEGIN and COMMIT on the same client, also a fire-and-forget send
    {
      code: handler(`
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('INSERT INTO orders (id) VALUES ($1)', [order.id]);
          producer.send({ topic: 'orders', messages: [toMessage(order)] }).catch(() => {});
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        } finally {
          client.release();
        }`),
      errors: [error("`client.query('BEGIN')`")],
    },
    {
      code: handler(`
        await client.query(\`BEGIN ISOLATION LEVEL SERIALIZABLE\`);
        await client.query('INSERT INTO orders (id) VALUES ($1)', [order.id]);
        await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        await client.query({ text: 'COMMIT' });`),
      errors: [error("`client.query('BEGIN')`")],
    },
    // postgres.js and MikroORM
    {
      code: handler(`
        await sql.begin(async (sql) => {
          await sql\`insert into orders \${sql(order)}\`;
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`sql.begin(…)` callback')],
    },
    {
      code: handler(`
        await em.transactional(async (em) => {
          em.persist(order);
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`em.transactional(…)` callback')],
    },
    {
      code: handler(`
        await db.tx('create-order', async (t) => {
          await t.none('INSERT INTO orders (id) VALUES ($1)', [order.id]);
          await producer.send({ topic: 'orders', messages: [toMessage(order)] });
        });`),
      errors: [error('`db.tx(…)` callback')],
    },
    // Options: extra callee names, another receiver pattern, other send methods
    {
      code: handler(`
        await knex.transaction(async (trx) => {
          await trx('orders').insert(order);
          await publishOrderCreated(order);
          await events.publisher.publish(order);
        });`),
      options: [{ sendCalls: ['publishOrderCreated'] }],
      errors: [error('`knex.transaction(…)` callback', 'publishOrderCreated'), error('`knex.transaction(…)` callback', 'events.publisher.publish')],
    },
    {
      code: handler(`
        await knex.transaction(async (trx) => {
          await bus.dispatch(order);
          await this.kafkaClient.emit('orders', order);
        });`),
      options: [{ receiverPattern: '^bus$|kafka', sendMethods: ['dispatch', 'emit'] }],
      errors: [error('`knex.transaction(…)` callback', 'bus.dispatch'), error('`knex.transaction(…)` callback', 'this.kafkaClient.emit')],
    },
  ],
});

tsRuleTester.run('no-broker-send-in-transaction (TypeScript)', rule, {
  valid: [
    `async function f(prisma: PrismaClient, order: Order): Promise<void> {
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: order });
        await enqueue(prismaExecutor(tx), toMessage(order));
      });
    }`,
  ],
  invalid: [
    {
      code: `class Orders {
        constructor(private readonly prisma: PrismaClient, private producer?: Producer) {}
        async create(order: Order): Promise<void> {
          await this.prisma.$transaction(async (tx: Prisma.TransactionClient) => {
            await tx.order.create({ data: order });
            await this.producer!.send({ topic: 'orders', messages: [toMessage(order)] });
            await (this.producer as Producer).sendBatch({ topicMessages: [] });
          });
        }
      }`,
      errors: [error('`this.prisma.$transaction(…)` callback', 'this.producer.send'), error('`this.prisma.$transaction(…)` callback', '(this.producer as Producer).sendBatch')],
    },
  ],
});
