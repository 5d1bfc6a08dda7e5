import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DwError } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { resolveRelayOptions, startRelay } from '../src/index.ts';
import { auditItems, cleanupRelays, migrateForTests, resetTables, outboxCount, relayOn, writeItems } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

async function readTopic(topic: string, count: number) {
  const consumer = lab.kafka().consumer({ groupId: `g-${lab.id}-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: { key: string; value: unknown; headers: Record<string, string>; partition: number }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        messages.push({ key: String(message.key), value: JSON.parse(String(message.value)), headers, partition });
        if (messages.length >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return messages;
}

describe('the relay publishes committed outbox rows', () => {
  it('as Debezium-style messages: key = aggregateid, value = payload, headers id/type/aggregatetype/position + the row’s own (traceparent); then deletes them', async () => {
    const topic = await lab.topic('orders', 3);
    const invoices = await lab.topic('invoices', 1);
    const pool = lab.pool();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const c = await pool.connect();
    await c.query('begin');
    const ids = await enqueue(pgExecutor(c), [
      { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderCreated', payload: { orderId: 'o-1', total: 10 }, headers: { traceparent } },
      { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPaid', payload: { orderId: 'o-1' } },
      { aggregateType: 'invoice', aggregateId: 'i-9', type: 'InvoiceIssued', payload: { invoiceId: 'i-9' } },
    ]);
    await c.query('commit');
    c.release();

    const relay = await relayOn(lab, topic, { topicFor: { invoice: invoices } });
    await relay.waitUntilDrained();
    const [orders, invoiceMessages] = [await readTopic(topic, 2), await readTopic(invoices, 1)];
    await relay.stop();

    expect(orders.map((m) => [m.key, m.headers.type])).toEqual([['o-1', 'OrderCreated'], ['o-1', 'OrderPaid']]);
    expect(orders[0]!.value).toEqual({ orderId: 'o-1', total: 10 });
    expect(orders[0]!.headers).toMatchObject({ id: ids[0], type: 'OrderCreated', aggregatetype: 'order', traceparent });
    expect(BigInt(orders[0]!.headers['outbox-position']!)).toBeLessThan(BigInt(orders[1]!.headers['outbox-position']!));
    expect(BigInt(orders[0]!.headers['outbox-sequence']!)).toBeLessThan(BigInt(orders[1]!.headers['outbox-sequence']!));
    expect(invoiceMessages[0]).toMatchObject({ key: 'i-9', value: { invoiceId: 'i-9' }, headers: { id: ids[2], aggregatetype: 'invoice' } });
    expect(await outboxCount(lab)).toBe(0);
    expect(relay.stats()).toMatchObject({ state: 'stopped', published: 3 });
  });

  it('serves /metrics and /health, wakes on NOTIFY, and stop() releases its slots', async () => {
    const topic = await lab.topic('metrics', 2);
    const relay = await relayOn(lab, topic, { pollIntervalMs: 60_000 }); // no polling: only NOTIFY can wake it
    const health = await (await fetch(`${relay.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', database: 'up', ownedSlots: 32, members: 1 });

    const pool = lab.pool();
    const published = once(relay.events, 'published');
    const c = await pool.connect();
    await writeItems(c, [{ key: 'k', n: 0 }, { key: 'k', n: 1 }]);
    c.release();
    await published;
    await relay.waitUntilDrained();
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/outbox_published_total\{topic="[^"]+"\} 2/);
    for (const name of ['outbox_failed_total', 'outbox_dead_lettered_total', 'outbox_backlog_rows 0', 'outbox_oldest_unpublished_age_seconds 0', 'outbox_batch_duration_seconds_bucket', 'outbox_owned_slots 32', 'outbox_parked_keys 0']) {
      expect(metrics).toContain(name);
    }
    expect((await fetch(`${relay.url}/nope`)).status).toBe(404);
    await relay.stop();
    const locks = await pool.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())");
    expect(locks.rows[0].n).toBe(0);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ messages: 2, blackHoles: 0, ghosts: 0, duplicates: 0, orderViolations: 0 });
  });

  it('with listen: false (RELAY_LISTEN=false) it ignores NOTIFY and only polls', async () => {
    const topic = await lab.topic('no-listen', 1);
    // Neither a poll nor a slot re-share (which also looks for rows) within the test: only a NOTIFY could wake it.
    const relay = await relayOn(lab, topic, { listen: false, pollIntervalMs: 60_000, rebalanceIntervalMs: 60_000 });
    const pool = lab.pool();
    const c = await pool.connect();
    await writeItems(c, [{ key: 'k', n: 0 }]);
    c.release();
    await new Promise((r) => setTimeout(r, 1500)); // with LISTEN, the NOTIFY at commit would have woken it long ago
    expect(relay.stats().published).toBe(0);
    await relay.waitUntilDrained(); // a wake-up from the relay's own API still works: it looks, publishes
    expect(relay.stats().published).toBe(1);
    await relay.stop();
  });
});

describe('relay options', () => {
  it('rejects unknown options and bad values before connecting', async () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as DwError;
      }
      throw new Error('expected an error');
    };
    expect(err(() => resolveRelayOptions({ batchsize: 10 } as never)).code).toBe('DW_CONFIG_UNKNOWN_OPTION');
    expect(err(() => resolveRelayOptions({ batchsize: 10 } as never)).hint).toContain('batchSize');
    const badBrokers = err(() => resolveRelayOptions({ brokers: 'localhost' }));
    expect(badBrokers.code).toBe('DW_CONFIG_INVALID');
    expect(badBrokers.message).toMatch(/brokers = "localhost" is not valid: expected host:port/);
    expect(badBrokers.hint).toContain('KAFKA_BROKERS');
    expect(err(() => resolveRelayOptions({ brokers: ['127.0.0.1:99999'] })).message).toMatch(/port from 1 to 65535/);
    expect(err(() => resolveRelayOptions({ batchSize: 0 })).message).toMatch(/batchSize = 0 is not valid/);
    expect(err(() => resolveRelayOptions({ database: 'mysql://x/y' })).code).toBe('DW_CONFIG_INVALID');
    expect(err(() => resolveRelayOptions({}, { RELAY_SLOTS: 'many' })).message).toMatch(/RELAY_SLOTS="many"/);
    // explicit > environment > default
    expect(resolveRelayOptions({}, { RELAY_BATCH_SIZE: '50' }).batchSize).toBe(50);
    expect(resolveRelayOptions({ batchSize: 7 }, { RELAY_BATCH_SIZE: '50' }).batchSize).toBe(7);
    expect(resolveRelayOptions({}, {}).port).toBe(9464);
    expect(resolveRelayOptions({}, {}).listen).toBe(true);
    expect(resolveRelayOptions({}, { RELAY_LISTEN: 'false' }).listen).toBe(false);
    expect(resolveRelayOptions({ listen: true }, { RELAY_LISTEN: 'false' }).listen).toBe(true);
    expect(err(() => resolveRelayOptions({}, { RELAY_LISTEN: 'sometimes' })).message).toMatch(/RELAY_LISTEN="sometimes"/);
    expect(err(() => resolveRelayOptions({ listen: 'no' } as never)).message).toMatch(/listen = "no" is not valid/);
    expect(resolveRelayOptions({}, {}).brokers).toEqual(lab.config.kafka.appBrokers);
  });

  it('fails within seconds when the database is unreachable, and says when the outbox is not migrated', async () => {
    const t0 = Date.now();
    const unreachable = await startRelay({ database: 'postgres://postgres:postgres@127.0.0.1:1/nothing', port: false, logLevel: 'silent', connectTimeoutMs: 2000 }).catch((e: DwError) => e);
    expect((unreachable as DwError).code).toBe('DW_RELAY_UNREACHABLE');
    expect(Date.now() - t0).toBeLessThan(10_000);
    const pool = lab.pool({ max: 1 });
    await pool.query(`create database "${lab.db.name}_empty"`);
    const emptyUrl = lab.db.appUrl.replace(/\/[^/]+$/, `/${lab.db.name}_empty`);
    const notMigrated = await startRelay({ database: emptyUrl, port: false, logLevel: 'silent' }).catch((e: DwError) => e);
    await pool.query(`drop database "${lab.db.name}_empty" with (force)`);
    expect((notMigrated as DwError).code).toBe('DW_OUTBOX_NOT_MIGRATED');
  });
});
