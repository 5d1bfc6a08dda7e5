import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { orderCreatedEvent, produceMessage, useConsumerHarness } from '@dual-write/downstream/testing';
import { migrateLab } from '@dual-write/schema';
import { useLab } from '@dual-write/testkit';
import { startShipping, SHIPPING_GROUP_ID, type ShippingOptions } from '../src/index.ts';

const lab = useLab({ initSql: async (client) => void (await migrateLab(client)) });
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const harness = useConsumerHarness(lab, 'shipping', startShipping);
const ship = (topic: string, opts: ShippingOptions = {}) => harness.start(topic, opts);

async function shipmentsOf(orderId: string) {
  const { rows } = await lab.pool().query('select * from shipments where order_id = $1 order by id', [orderId]);
  return rows;
}

function tsx(args: string[], env: Record<string, string> = {}) {
  return spawnSync(path.join(lab.config.repoRoot, 'node_modules', '.bin', 'tsx'), [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('shipping', () => {
  it('ships a known order, records a ghost shipment for an unknown one, and ships a flaky one exactly once after retries', async () => {
    const topic = await lab.topic('orders');
    const known = orderCreatedEvent();
    const ghost = orderCreatedEvent();
    const flaky = orderCreatedEvent();
    harness.api.addOrder(known.orderId, known.totalCents);
    harness.api.addOrder(flaky.orderId, flaky.totalCents);
    harness.api.failNext(flaky.orderId, 2, 503);
    const shipping = await ship(topic);
    const knownAt = await produceMessage(harness.producer, topic, known);
    const ghostAt = await produceMessage(harness.producer, topic, ghost);
    const flakyAt = await produceMessage(harness.producer, topic, flaky);

    const stats = await shipping.waitForHandled(3);
    await shipping.stop();
    expect(stats).toMatchObject({ handled: 3, outcomes: { shipped: 2, ghost: 1 }, retries: 2, skipped: 0 });
    expect(await shipmentsOf(known.orderId)).toEqual([
      expect.objectContaining({ event_id: known.eventId, outcome: 'shipped', callback_status: 200, kafka_topic: topic, kafka_partition: knownAt.partition, kafka_offset: knownAt.offset }),
    ]);
    expect(await shipmentsOf(ghost.orderId)).toEqual([
      expect.objectContaining({ event_id: ghost.eventId, outcome: 'ghost', callback_status: 404, kafka_partition: ghostAt.partition, kafka_offset: ghostAt.offset }),
    ]);
    expect(await shipmentsOf(flaky.orderId)).toEqual([
      expect.objectContaining({ event_id: flaky.eventId, outcome: 'shipped', callback_status: 200, kafka_partition: flakyAt.partition, kafka_offset: flakyAt.offset }),
    ]);
    expect(harness.api.hits(flaky.orderId)).toBe(3);
  });

  it('skips a malformed message and ships the order behind it on the same partition', async () => {
    const topic = await lab.topic('malformed', 1);
    const order = orderCreatedEvent();
    harness.api.addOrder(order.orderId, order.totalCents);
    const shipping = await ship(topic);
    await produceMessage(harness.producer, topic, { key: order.orderId, value: '{"type":"OrderCreated", broken' });
    const orderAt = await produceMessage(harness.producer, topic, order);

    const stats = await shipping.waitForHandled(2);
    await shipping.stop();
    expect(stats).toMatchObject({ handled: 2, skipped: 1, outcomes: { shipped: 1 } });
    expect(await shipmentsOf(order.orderId)).toEqual([expect.objectContaining({ outcome: 'shipped', kafka_offset: orderAt.offset })]);
    const { rows } = await lab.pool().query('select count(*)::int as n from shipments where kafka_topic = $1', [topic]);
    expect(rows[0].n).toBe(1);
  });

  it('takes topic, brokers (through the kafka proxy), database and order API from the config; stop() leaves the group and closes its connections', async () => {
    const topic = await lab.topic('from-config');
    const config = resolveConfig({ DATABASE_URL: lab.db.url, ORDERS_TOPIC: topic, HOST: '127.0.0.1', PORT: Number(new URL(harness.api.url).port) });
    expect(config.kafka.appBrokers).toEqual(lab.config.kafka.appBrokers);
    const groupId = `${lab.id}-shipping-config`;
    const order = orderCreatedEvent();
    harness.api.addOrder(order.orderId, order.totalCents);
    const shipping = await startShipping({ config, groupId, log: () => {} });
    expect(shipping).toMatchObject({ name: 'shipping', groupId, topic });
    await produceMessage(harness.producer, topic, order);
    await shipping.waitForHandled(1);
    await shipping.stop();
    await shipping.stop(); // idempotent

    expect(await shipmentsOf(order.orderId)).toHaveLength(1);
    const admin = lab.kafka().admin();
    await admin.connect();
    const { groups } = await admin.describeGroups([groupId]);
    await admin.disconnect();
    expect(groups[0]!.members).toEqual([]);
    const { rows } = await lab.pool().query("select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'dw-shipping'", [lab.db.name]);
    expect(rows[0].n).toBe(0);
    expect(SHIPPING_GROUP_ID).toBe('shipping');
  });

  it('main.ts: --help prints the usage; an unmigrated database stops it at start with the code and a hint', async () => {
    const help = tsx(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: npm run shipping/);
    expect(help.stdout).toMatch(/consumer group "shipping"/);

    const bare = `${lab.db.name}_bare`;
    const admin = lab.pool();
    await admin.query(`create database "${bare}"`);
    try {
      const url = new URL(lab.db.url);
      url.pathname = `/${bare}`;
      const run = tsx([], { DATABASE_URL: url.toString(), ORDERS_TOPIC: await lab.topic('unused') });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/\[DW_CONFIG_INVALID\] The database at .* has no table shipments, inbox, order_stream_applied: it is not migrated/);
      expect(run.stderr).toMatch(/→ Migrate it first/);
    } finally {
      await admin.query(`drop database if exists "${bare}" with (force)`);
    }
  });
});
