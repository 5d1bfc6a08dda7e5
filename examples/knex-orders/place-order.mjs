// @ts-check
/**
 * Places one order: the `orders` row and its OrderCreated event commit in ONE Knex transaction (or neither does).
 * The relay (`npx outbox-relay`) then publishes the event to the topic `outbox.event.order`.
 *
 *   DATABASE_URL=postgres://user:password@localhost:5432/app node place-order.mjs [--customer alice] [--fail]
 *
 * --fail throws after both writes, inside the transaction: the order and its event roll back together.
 * Prints one JSON line: { orderId, eventId, committed }.
 */
import { randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import { enqueue, knexExecutor, migrateOutbox, pgExecutor } from '@dual-write/outbox';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log('Usage: DATABASE_URL=postgres://… node place-order.mjs [--customer <name>] [--fail]');
  process.exit(0);
}
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('Set DATABASE_URL, e.g. DATABASE_URL=postgres://postgres:postgres@localhost:5432/app');
  process.exit(2);
}
const customer = args.includes('--customer') ? args[args.indexOf('--customer') + 1] ?? 'alice' : 'alice';
const fail = args.includes('--fail');

const knex = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 2 } });
try {
  // Once at start-up: the outbox's own migrations (safe from several processes at once), then the app's table.
  const conn = await knex.client.acquireConnection();
  try {
    await migrateOutbox(pgExecutor(conn));
  } finally {
    await knex.client.releaseConnection(conn);
  }
  await knex.raw('create table if not exists orders (id uuid primary key, customer text not null, total_cents integer not null, created_at timestamptz not null default now())');

  const orderId = randomUUID();
  const eventId = randomUUID();
  try {
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ id: orderId, customer, total_cents: 4200 });
      await enqueue(knexExecutor(trx), {
        id: eventId,
        aggregateType: 'order', // → topic outbox.event.order
        aggregateId: orderId, //   → Kafka key: one order's events stay in order
        type: 'OrderCreated',
        payload: { orderId, customer, totalCents: 4200 },
      });
      if (fail) throw new Error('failed after both writes (--fail)');
    });
    console.log(JSON.stringify({ orderId, eventId, committed: true }));
  } catch (err) {
    if (!fail) throw err;
    console.log(JSON.stringify({ orderId, eventId, committed: false }));
  }
} finally {
  await knex.destroy();
}
