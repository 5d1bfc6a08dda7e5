/**
 * Child process of the kind=mq&cause=crash scenario: writes one order (naive-after-commit or outbox) and, right
 * after COMMIT, tells its parent (which then SIGKILLs it) and waits. A naive writer never reaches its send.
 */
import { resolveConfig, WRITE_STRATEGIES, type WriteStrategy } from '@dual-write/config';
import { createDatabase } from '../../db/database.ts';
import { createNaivePublisher } from '../../kafka/naive-publisher.ts';
import { newOrderCreated } from '../../orders/order-input.ts';
import { writeOrder } from '../../orders/write-order.ts';
import { SAMPLE_ORDER } from './scenario-deps.ts';

const config = resolveConfig();
const url = process.env.CRASH_WRITER_DATABASE_URL ?? config.database.appUrl;
const topic = process.env.CRASH_WRITER_TOPIC ?? config.topics.orders.name;
const strategy = (process.env.CRASH_WRITER_STRATEGY ?? 'naive-after-commit') as WriteStrategy;
if (!WRITE_STRATEGIES.includes(strategy)) throw new Error(`CRASH_WRITER_STRATEGY must be one of ${WRITE_STRATEGIES.join(', ')}`);
const db = createDatabase(url, { max: 1, acquireTimeoutMs: 10_000 });
const publisher = createNaivePublisher({ brokers: config.kafka.appBrokers, topic, clientId: 'crash-writer' });
const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: `scenario-mq-crash-${strategy}` }, strategy);

await writeOrder({ db, publisher }, event, strategy, {
  afterCommit: async () => {
    process.send?.({ committed: event.orderId, eventId: event.eventId });
    await new Promise(() => {}); // the parent kills us here
  },
});
