import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLab } from '@dual-write/schema';
import { useLab } from '@dual-write/testkit';
import type { Producer } from 'kafkajs';
import { startDownstreamConsumer, type DownstreamConsumer, type DownstreamConsumerOptions, type RecordEffect, type RetryNotice, type CrashNotice } from '../src/index.ts';
import { orderCreatedEvent, orderStatusEvent, produceMessage, startFakeOrderApi, type FakeOrderApi } from '../src/testing/index.ts';

// The machinery is effect-agnostic: these tests record into a table of their own.
const lab = useLab({
  initSql: async (client) => {
    await client.query(`create table effects (
      id bigserial primary key, consumer text not null, order_id uuid not null, event_id uuid, outcome text not null,
      callback_status integer not null, amount_cents bigint, kafka_topic text not null, kafka_partition integer not null, kafka_offset bigint not null)`);
    await migrateLab(client); // the inbox and order_stream_applied (every event is a step of its order's stream)
  },
});

const recordTestEffect: RecordEffect = async (client, { orderId, eventId, verdict, source }) => {
  const outcome = verdict.kind === 'found' ? 'done' : 'ghost';
  await client.query(
    `insert into effects (consumer, order_id, event_id, outcome, callback_status, amount_cents, kafka_topic, kafka_partition, kafka_offset)
     values ('test', $1, $2, $3, $4, $5, $6, $7, $8)`,
    [orderId, eventId, outcome, verdict.status, verdict.kind === 'found' ? verdict.order.totalCents : null, source.topic, source.partition, source.offset],
  );
  return outcome;
};

let api: FakeOrderApi;
let producer: Producer;
let n = 0;

beforeAll(async () => {
  api = lab.leaks.trackCloseable('fake order API', await startFakeOrderApi(), 'close');
  producer = lab.kafka().producer();
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
  await api.close();
});

/** A consumer on `topic` through the `kafka` and `postgres` proxies, with a leak-tracked Kafka client and fast retries. */
function startConsumer(topic: string, opts: Partial<DownstreamConsumerOptions> = {}): Promise<DownstreamConsumer> {
  const name = `test-${++n}`;
  return startDownstreamConsumer({
    name,
    groupId: `${lab.id}-${name}`,
    topic,
    kafka: lab.kafka({ via: 'proxy', clientId: name }),
    databaseUrl: lab.db.appUrl,
    orderServiceUrl: api.url,
    recordEffect: recordTestEffect,
    requiredTables: ['effects'],
    backoff: { initialMs: 20, maxMs: 200 },
    callbackTimeoutMs: 2000,
    log: () => {},
    ...opts,
  });
}

async function rowsFor(orderId: string) {
  const { rows } = await lab.pool().query('select * from effects where order_id = $1 order by id', [orderId]);
  return rows;
}

async function connectionsOf(name: string): Promise<number> {
  const { rows } = await lab.pool().query('select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2', [lab.db.name, `dw-${name}`]);
  return rows[0].n;
}

describe('startDownstreamConsumer', () => {
  it('has no second effect for a redelivered event id (the inbox absorbs at-least-once duplicates)', async () => {
    const topic = await lab.topic('redelivered');
    const event = orderCreatedEvent({ totalCents: 500 });
    api.addOrder(event.orderId, 500);
    const consumer = await startConsumer(topic);
    await produceMessage(producer, topic, event);
    await produceMessage(producer, topic, event); // the relay published it twice (crash between ack and delete)
    await produceMessage(producer, topic, event);
    const stats = await consumer.waitForHandled(3);
    await consumer.stop();
    expect(stats.outcomes).toEqual({ done: 1, duplicate: 2 });
    expect(await rowsFor(event.orderId)).toHaveLength(1);
  });

  it('records a verified order (200) with its event id and Kafka position, and an unknown order (404) as a ghost; commits both offsets', async () => {
    const topic = await lab.topic('known-and-ghost');
    const known = orderCreatedEvent({ totalCents: 12_345 });
    const ghost = orderCreatedEvent();
    api.addOrder(known.orderId, 12_345);
    const consumer = await startConsumer(topic);
    const knownAt = await produceMessage(producer, topic, known);
    const ghostAt = await produceMessage(producer, topic, ghost);

    const stats = await consumer.waitForHandled(2);
    expect(stats).toMatchObject({ handled: 2, recorded: 2, skipped: 0, retries: 0, outcomes: { done: 1, ghost: 1 }, running: true });
    const [k] = await rowsFor(known.orderId);
    expect(await rowsFor(known.orderId)).toHaveLength(1);
    expect(k).toMatchObject({ event_id: known.eventId, outcome: 'done', callback_status: 200, amount_cents: '12345', kafka_topic: topic, kafka_partition: knownAt.partition, kafka_offset: knownAt.offset });
    const g = await rowsFor(ghost.orderId);
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ event_id: ghost.eventId, outcome: 'ghost', callback_status: 404, amount_cents: null, kafka_partition: ghostAt.partition, kafka_offset: ghostAt.offset });

    await consumer.stop();
    expect(consumer.stats().running).toBe(false);
    const admin = lab.kafka().admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: consumer.groupId, topics: [topic] });
    await admin.disconnect();
    for (const at of [knownAt, ghostAt]) {
      const p = committed!.partitions.find((x) => x.partition === at.partition);
      expect(BigInt(p!.offset)).toBeGreaterThan(BigInt(at.offset));
    }
  });

  it('retries a 503 and a dropped connection with growing delays, then records each message exactly once', async () => {
    const topic = await lab.topic('flaky');
    const flaky = orderCreatedEvent();
    const dropped = orderCreatedEvent();
    api.addOrder(flaky.orderId, 100);
    api.addOrder(dropped.orderId, 200);
    api.failNext(flaky.orderId, 2, 503);
    api.failNext(dropped.orderId, 1, 'drop-connection');
    const consumer = await startConsumer(topic);
    const retries: RetryNotice[] = [];
    consumer.events.on('retry', (r) => retries.push(r));
    await produceMessage(producer, topic, flaky);
    await produceMessage(producer, topic, dropped);

    const stats = await consumer.waitForHandled(2);
    await consumer.stop();
    expect(stats).toMatchObject({ handled: 2, recorded: 2, retries: 3, outcomes: { done: 2 } });
    expect(api.hits(flaky.orderId)).toBe(3);
    expect(api.hits(dropped.orderId)).toBe(2);
    expect(await rowsFor(flaky.orderId)).toHaveLength(1);
    expect(await rowsFor(dropped.orderId)).toHaveLength(1);
    const flakyRetries = retries.filter((r) => r.orderId === flaky.orderId);
    expect(flakyRetries.map((r) => [r.attempt, r.delayMs])).toEqual([[1, 20], [2, 40]]);
    expect(flakyRetries[0]!.error).toMatch(/answered 503/);
    expect(retries.find((r) => r.orderId === dropped.orderId)!.error).toMatch(/failed: fetch failed/);
  });

  it('skips malformed messages (not JSON, another type, a bad id, no value) and handles the messages after them', async () => {
    const topic = await lab.topic('malformed', 1);
    const consumer = await startConsumer(topic);
    const skipped: string[] = [];
    consumer.events.on('handled', (h) => h.kind === 'skipped' && skipped.push(h.reason));
    await produceMessage(producer, topic, { key: 'x', value: 'this is not json' });
    await produceMessage(producer, topic, { key: 'x', value: JSON.stringify({ type: 'OrderCancelled', orderId: 'x' }) });
    await produceMessage(producer, topic, { ...orderCreatedEventRaw({ orderId: 'not-a-uuid' }) });
    await produceMessage(producer, topic, { key: 'x', value: null });
    const good = orderCreatedEvent();
    api.addOrder(good.orderId, 500);
    const goodAt = await produceMessage(producer, topic, good);

    const stats = await consumer.waitForHandled(5);
    await consumer.stop();
    expect(stats).toMatchObject({ handled: 5, recorded: 1, skipped: 4, retries: 0 });
    expect(skipped).toEqual([expect.stringMatching(/not JSON/), expect.stringMatching(/not an order event \(type=/), expect.stringMatching(/not a UUID/), expect.stringMatching(/no value/)]);
    expect(await rowsFor(good.orderId)).toEqual([expect.objectContaining({ outcome: 'done', kafka_offset: goodAt.offset })]);
  });

  it('stop() during retries is prompt and leaves the message uncommitted: the next consumer of the group records it once', async () => {
    const topic = await lab.topic('stop-mid-retry');
    const event = orderCreatedEvent();
    api.failAlways(event.orderId, 503);
    const first = await startConsumer(topic, { backoff: { initialMs: 50, maxMs: 50 } });
    const retried = once(first.events, 'retry');
    await produceMessage(producer, topic, event);
    await retried;
    await first.stop();
    expect(first.stats()).toMatchObject({ handled: 0, running: false });
    expect(await rowsFor(event.orderId)).toHaveLength(0);
    expect(await connectionsOf(first.name)).toBe(0);
    await expect(first.waitForHandled(1)).rejects.toThrow(/stopped/);

    api.clearFailures(event.orderId);
    api.addOrder(event.orderId, 700);
    const second = await startConsumer(topic, { groupId: first.groupId });
    await second.waitForHandled(1);
    await second.stop();
    expect(await rowsFor(event.orderId)).toEqual([expect.objectContaining({ outcome: 'done', callback_status: 200, amount_cents: '700' })]);
  });

  it('a database outage (the postgres proxy disabled) is retried; the effect is recorded once the database is back', async () => {
    const topic = await lab.topic('db-outage');
    const event = orderCreatedEvent();
    api.addOrder(event.orderId, 900);
    const consumer = await startConsumer(topic);
    await lab.toxics.setEnabled('postgres', false);
    const retried = once(consumer.events, 'retry') as Promise<[RetryNotice]>;
    await produceMessage(producer, topic, event);
    const [notice] = await retried;
    expect(notice.orderId).toBe(event.orderId);
    expect(await rowsFor(event.orderId)).toHaveLength(0);
    await lab.toxics.setEnabled('postgres', true);

    const stats = await consumer.waitForHandled(1);
    await consumer.stop();
    expect(stats.recorded).toBe(1);
    expect(stats.retries).toBeGreaterThanOrEqual(1);
    expect(await rowsFor(event.orderId)).toHaveLength(1);
  });

  it('keeps going through a Kafka outage (the kafka proxy disabled): messages sent meanwhile are handled once it is back', async () => {
    const topic = await lab.topic('kafka-outage');
    const before = orderCreatedEvent();
    const during = orderCreatedEvent();
    api.addOrder(before.orderId, 1);
    api.addOrder(during.orderId, 2);
    const kafka = lab.kafka({ via: 'proxy', clientId: 'outage', retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 } });
    // The cut-off member cannot leave the group: the broker waits out its session before the restarted one gets the partitions.
    const consumer = await startConsumer(topic, { kafka, sessionTimeoutMs: 6000 });
    await produceMessage(producer, topic, before);
    await consumer.waitForHandled(1);

    const crashed = once(consumer.events, 'crash') as Promise<[CrashNotice]>;
    await lab.toxics.setEnabled('kafka', false);
    await produceMessage(producer, topic, during); // the producer is direct: the message is on the broker
    const [crash] = await crashed;
    expect(crash.restartedBy).toBe('kafkajs');
    await lab.toxics.setEnabled('kafka', true);

    const stats = await consumer.waitForHandled(2);
    await consumer.stop();
    expect(stats).toMatchObject({ handled: 2, recorded: 2 });
    expect(await rowsFor(during.orderId)).toHaveLength(1);
  });

  it("records each event as a step of its order's stream: in sequence (1, 2, 3) or not — a skipped step and a late one are flagged; a redelivery adds no step", async () => {
    const topic = await lab.topic('streams', 1);
    const inOrder = orderCreatedEvent();
    const outOfOrder = orderCreatedEvent();
    api.addOrder(inOrder.orderId, 500);
    api.addOrder(outOfOrder.orderId, 500);
    const consumer = await startConsumer(topic);
    const paid = orderStatusEvent(inOrder.orderId, 'OrderPaid', 2);
    for (const m of [inOrder, paid, orderStatusEvent(inOrder.orderId, 'OrderShipped', 3), paid]) await produceMessage(producer, topic, m);
    // the negative control: OrderShipped (3) before OrderPaid (2)
    for (const m of [outOfOrder, orderStatusEvent(outOfOrder.orderId, 'OrderShipped', 3), orderStatusEvent(outOfOrder.orderId, 'OrderPaid', 2)]) await produceMessage(producer, topic, m);
    const stats = await consumer.waitForHandled(7);
    await consumer.stop();
    expect(stats).toMatchObject({ handled: 7, skipped: 0 });
    expect(stats.outcomes).toMatchObject({ done: 2, duplicate: 1, 'OrderPaid applied': 1, 'OrderShipped applied': 1, 'OrderShipped out of sequence': 1, 'OrderPaid out of sequence': 1 });
    const steps = async (orderId: string) =>
      (await lab.pool().query('select event_type, sequence, previous_sequence, in_sequence from order_stream_applied where order_id = $1 order by id', [orderId])).rows.map((r) => [r.event_type, r.sequence, r.previous_sequence, r.in_sequence]);
    expect(await steps(inOrder.orderId)).toEqual([['OrderCreated', 1, 0, true], ['OrderPaid', 2, 1, true], ['OrderShipped', 3, 2, true]]);
    expect(await steps(outOfOrder.orderId)).toEqual([['OrderCreated', 1, 0, true], ['OrderShipped', 3, 1, false], ['OrderPaid', 2, 3, false]]);
    expect(await rowsFor(inOrder.orderId)).toHaveLength(1); // the consumer's effect: OrderCreated only
  });

  it('refuses to start on a database without its tables, with a hint, and leaves nothing open', async () => {
    const topic = await lab.topic('unmigrated');
    const err = await startConsumer(topic, { name: 'unmigrated', requiredTables: ['parcels'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DW_CONFIG_INVALID', message: expect.stringMatching(/no table parcels: it is not migrated/), hint: expect.stringMatching(/migrate/) });
    expect(await connectionsOf('unmigrated')).toBe(0);
  });
});

/** An OrderCreated message as the order service would encode it, but with raw overrides (to break it). */
function orderCreatedEventRaw(overrides: Record<string, unknown>) {
  const event = { ...orderCreatedEvent(), ...overrides };
  return { key: String(event.orderId), value: JSON.stringify(event), headers: { id: event.eventId, type: event.type } };
}
