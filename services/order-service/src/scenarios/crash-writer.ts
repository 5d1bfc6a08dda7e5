/**
 * Child process of the kind=mq&cause=crash scenario: writes one order with naive-after-commit and, right
 * after COMMIT, tells its parent (which then SIGKILLs it) and waits. It never reaches the send.
 */
import { resolveConfig } from '@dual-write/config';
import { createDatabase } from '../db/database.ts';
import { createNaivePublisher } from '../kafka/naive-publisher.ts';
import { newOrderCreated } from '../orders/order-input.ts';
import { writeOrder } from '../orders/write-order.ts';
import { SAMPLE_ORDER } from './scenario-deps.ts';

const config = resolveConfig();
const url = process.env.CRASH_WRITER_DATABASE_URL ?? config.database.appUrl;
const topic = process.env.CRASH_WRITER_TOPIC ?? config.topics.orders.name;
const db = createDatabase(url, { max: 1, acquireTimeoutMs: 10_000 });
const publisher = createNaivePublisher({ brokers: config.kafka.appBrokers, topic, clientId: 'crash-writer' });
const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: 'scenario-mq-crash' }, 'naive-after-commit');

await writeOrder({ db, publisher }, event, 'naive-after-commit', {
  afterCommit: async () => {
    process.send?.({ committed: event.orderId });
    await new Promise(() => {}); // the parent kills us here
  },
});
