import { once } from 'node:events';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxError } from '@dual-write/outbox';
import { DEFAULT_TOPIC, RelayError } from '../src/index.ts';
import { useLab } from '@dual-write/testkit';
import { enqueue, outboxTables, pgExecutor } from '@dual-write/outbox';

const OUTBOX_CHANNEL = outboxTables().channel;
import { resolveRelayOptions, startRelay, type RelayOptions } from '../src/index.ts';
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

  it('serves /metrics and /health, and stop() releases its slots', async () => {
    const topic = await lab.topic('metrics', 2);
    const relay = await relayOn(lab, topic);
    const health = await (await fetch(`${relay.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', database: 'up', ownedSlots: 32, members: 1 });

    const pool = lab.pool();
    const c = await pool.connect();
    await writeItems(c, [{ key: 'k', n: 0 }, { key: 'k', n: 1 }]);
    c.release();
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
});

/**
 * The check behind "wakes on NOTIFY": a relay that would not look for rows on its own for a minute (no poll,
 * no slot re-share) is idle; a commit is made; our own LISTEN connection receives the commit's NOTIFY. A relay
 * that listens publishes the row right away; we allow it NOTIFY_GRACE_MS after PostgreSQL delivered the
 * NOTIFY to every listener (an absence cannot be awaited, only bounded).
 */
const NOTIFY_GRACE_MS = 3000;

async function commitWakesRelay(opts: RelayOptions, name: string): Promise<{ woken: boolean; published: number }> {
  const topic = await lab.topic(name, 1);
  const relay = await relayOn(lab, topic, { ...opts, pollIntervalMs: 60_000, rebalanceIntervalMs: 60_000 });
  await relay.waitUntilDrained(); // its first look is done: from here on only a wake-up makes it look again
  const listener = new pg.Client({ connectionString: lab.db.url });
  await listener.connect();
  try {
    await listener.query(`listen ${OUTBOX_CHANNEL}`);
    const notified = once(listener, 'notification');
    const publishedOnce = once(relay.events, 'published');
    const pool = lab.pool({ max: 1 });
    const c = await pool.connect();
    await writeItems(c, [{ key: 'k', n: 0 }]);
    c.release();
    await notified;
    let timer: NodeJS.Timeout | undefined;
    const woken = await Promise.race([publishedOnce.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), NOTIFY_GRACE_MS)))]);
    clearTimeout(timer);
    const published = relay.stats().published;
    await relay.waitUntilDrained(); // the relay's own API still wakes it, whatever LISTEN does
    expect(relay.stats().published).toBe(1);
    await relay.stop();
    return { woken, published };
  } finally {
    await listener.end();
  }
}

describe('wake-up on commit (LISTEN/NOTIFY)', () => {
  it('a listening relay publishes a commit without polling: the NOTIFY wakes it', async () => {
    expect(await commitWakesRelay({}, 'notify-on')).toEqual({ woken: true, published: 1 });
  });

  it('negative control, and RELAY_LISTEN=false: the same check fails for a relay that does not LISTEN — it waits for its next poll', async () => {
    expect(await commitWakesRelay({ listen: false }, 'notify-off')).toEqual({ woken: false, published: 0 });
  });
});

describe('relay options', () => {
  it('rejects unknown options and bad values before connecting', async () => {
    const required = { DATABASE_URL: 'postgres://app:secret@db.prod:5432/app', KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092' };
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as RelayError;
      }
      throw new Error('expected an error');
    };
    expect(err(() => resolveRelayOptions({ batchsize: 10 } as never, required)).code).toBe('DW_RELAY_UNKNOWN_OPTION');
    expect(err(() => resolveRelayOptions({ batchsize: 10 } as never, required)).hint).toContain('batchSize');
    const badBrokers = err(() => resolveRelayOptions({ brokers: 'localhost' }, required));
    expect(badBrokers.code).toBe('DW_RELAY_INVALID_OPTION');
    expect(badBrokers.message).toMatch(/brokers = "localhost" is not valid: expected host:port/);
    expect(badBrokers.hint).toContain('KAFKA_BROKERS');
    expect(err(() => resolveRelayOptions({ brokers: ['127.0.0.1:99999'] }, required)).message).toMatch(/port from 1 to 65535/);
    expect(err(() => resolveRelayOptions({ batchSize: 0 }, required)).message).toMatch(/batchSize = 0 is not valid/);
    expect(err(() => resolveRelayOptions({ database: 'mysql://x/y' }, required)).code).toBe('DW_RELAY_INVALID_OPTION');
    expect(err(() => resolveRelayOptions({}, { ...required, RELAY_SLOTS: 'many' })).message).toMatch(/RELAY_SLOTS="many"/);
    // explicit > environment > default
    expect(resolveRelayOptions({}, { ...required, RELAY_BATCH_SIZE: '50' }).batchSize).toBe(50);
    expect(resolveRelayOptions({ batchSize: 7 }, { ...required, RELAY_BATCH_SIZE: '50' }).batchSize).toBe(7);
    expect(resolveRelayOptions({}, required).port).toBe(9464);
    expect(resolveRelayOptions({}, required).listen).toBe(true);
    expect(resolveRelayOptions({}, { ...required, RELAY_LISTEN: 'false' }).listen).toBe(false);
    expect(resolveRelayOptions({ listen: true }, { ...required, RELAY_LISTEN: 'false' }).listen).toBe(true);
    expect(err(() => resolveRelayOptions({}, { ...required, RELAY_LISTEN: 'sometimes' })).message).toMatch(/RELAY_LISTEN="sometimes"/);
    expect(err(() => resolveRelayOptions({ listen: 'no' } as never, required)).message).toMatch(/listen = "no" is not valid/);
    // production defaults: the database and the brokers exactly as given (no proxy), topics as Debezium's outbox router
    const defaults = resolveRelayOptions({}, required);
    expect([defaults.database, defaults.brokers]).toEqual([required.DATABASE_URL, ['kafka-1:9092', 'kafka-2:9092']]);
    expect(defaults.topic).toBe(DEFAULT_TOPIC);
    expect(defaults.topicFor('order')).toBe('outbox.event.order');
    expect(resolveRelayOptions({}, { ...required, RELAY_TOPIC: 'events.${aggregatetype}.v1' }).topicFor('invoice')).toBe('events.invoice.v1');
    expect(resolveRelayOptions({ topic: 'all' }, required).topicFor('invoice')).toBe('all');
    expect(err(() => resolveRelayOptions({}, { ...required, RELAY_TOPIC: 'bad topic ${aggregatetype}' })).code).toBe('DW_RELAY_INVALID_OPTION');
    // nothing to connect to is a clear error, not a guess
    const noDatabase = err(() => resolveRelayOptions({}, { KAFKA_BROKERS: 'kafka-1:9092' }));
    expect([noDatabase.code, noDatabase.hint]).toEqual(['DW_RELAY_INVALID_OPTION', expect.stringContaining('Set DATABASE_URL')]);
    expect(err(() => resolveRelayOptions({}, { DATABASE_URL: required.DATABASE_URL })).hint).toContain('Set KAFKA_BROKERS');
  });

  it('fails (rather than retrying forever) when the database is unreachable, and says when the outbox is not migrated', async () => {
    const unreachable = await startRelay({ database: 'postgres://postgres:postgres@127.0.0.1:1/nothing', brokers: lab.config.kafka.brokers, port: false, logLevel: 'silent', connectTimeoutMs: 2000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(unreachable).toBeInstanceOf(RelayError);
    expect((unreachable as RelayError).code).toBe('DW_RELAY_UNREACHABLE');
    expect((unreachable as RelayError).message).toContain('127.0.0.1:1');
    const pool = lab.pool({ max: 1 });
    await pool.query(`create database "${lab.db.name}_empty"`);
    const emptyUrl = lab.db.appUrl.replace(/\/[^/]+$/, `/${lab.db.name}_empty`);
    const notMigrated = await startRelay({ database: emptyUrl, brokers: lab.config.kafka.brokers, port: false, logLevel: 'silent' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await pool.query(`drop database "${lab.db.name}_empty" with (force)`);
    expect(notMigrated).toBeInstanceOf(OutboxError);
    expect((notMigrated as OutboxError).code).toBe('DW_OUTBOX_NOT_MIGRATED');
  });
});
