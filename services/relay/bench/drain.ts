/**
 * How fast does the relay drain a backlog? Writes N outbox rows (K keys) into a scratch database while no relay
 * runs, then starts one and times it until the outbox is empty. Cleans up after itself.
 *
 *   node --import tsx services/relay/bench/drain.ts [--rows 20000] [--keys 100] [--batch 500] [--direct] [--payload-bytes 200]
 *
 * --direct: PostgreSQL and Kafka without Toxiproxy in between (default: through the proxies, like the services).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { resolveConfig, withDatabase } from '@dual-write/config';
import { enqueue, migrateOutbox, pgExecutor } from '@dual-write/outbox';
import { startRelay } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    keys: { type: 'string', default: '100' },
    batch: { type: 'string', default: '500' },
    'payload-bytes': { type: 'string', default: '200' },
    direct: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const keys = Number(values.keys);
const config = resolveConfig();
const name = `bench_drain_${process.pid}`;
const topic = `bench.drain.${process.pid}`;
const admin = new Kafka({ clientId: 'bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
const root = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
await root.connect();
await root.query(`create database "${name}"`);
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
try {
  const db = new pg.Client({ connectionString: withDatabase(config.database.url, name) });
  await db.connect();
  await migrateOutbox(db);
  const filler = 'x'.repeat(Number(values['payload-bytes']));
  const t0 = performance.now();
  for (let done = 0; done < rows; done += 1000) {
    await db.query('begin');
    await enqueue(pgExecutor(db), Array.from({ length: Math.min(1000, rows - done) }, (_, i) => ({
      aggregateType: 'order', aggregateId: `key-${(done + i) % keys}`, type: 'OrderCreated', payload: { id: randomUUID(), n: done + i, filler },
    })));
    await db.query('commit');
  }
  const writeSeconds = (performance.now() - t0) / 1000;
  await db.end();

  const relay = await startRelay({
    database: withDatabase(values.direct ? config.database.url : config.database.appUrl, name),
    brokers: values.direct ? config.kafka.brokers : config.kafka.appBrokers,
    topic,
    port: false,
    logLevel: 'warn',
    batchSize: Number(values.batch),
  });
  const t1 = performance.now();
  await relay.waitUntilDrained({ timeoutMs: 600_000 });
  const seconds = (performance.now() - t1) / 1000;
  const { published, batches } = relay.stats();
  await relay.stop();
  console.log(
    `${published} messages (${keys} keys, ~${values['payload-bytes']} B payload, 6 partitions, batch ${values.batch}, ${values.direct ? 'direct' : 'through Toxiproxy'}): ` +
      `drained in ${seconds.toFixed(2)} s = ${Math.round(published / seconds)} msg/s in ${batches} batches (enqueue: ${Math.round(rows / writeSeconds)} rows/s)`,
  );
} finally {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await root.query(`drop database if exists "${name}" with (force)`);
  await root.end();
}
