import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { orderCreatedEvent, produceMessage, useConsumerHarness } from '@dual-write/downstream/testing';
import { migrateLab } from '@dual-write/schema';
import { useLab } from '@dual-write/testkit';
import { BILLING_GROUP_ID, startBilling, type BillingOptions } from '../src/index.ts';

const lab = useLab({ initSql: async (client) => void (await migrateLab(client)) });
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const harness = useConsumerHarness(lab, 'billing', startBilling);
const bill = (topic: string, opts: BillingOptions = {}) => harness.start(topic, opts);

async function invoicesOf(orderId: string) {
  const { rows } = await lab.pool().query('select * from invoices where order_id = $1 order by id', [orderId]);
  return rows;
}

function tsx(args: string[], env: Record<string, string> = {}) {
  return spawnSync(path.join(lab.config.repoRoot, 'node_modules', '.bin', 'tsx'), [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('billing', () => {
  it("invoices a known order for the total the order API reports, records a ghost invoice (no amount) for an unknown one, and invoices a flaky one exactly once", async () => {
    const topic = await lab.topic('orders');
    const known = orderCreatedEvent({ totalCents: 1000 });
    const ghost = orderCreatedEvent();
    const flaky = orderCreatedEvent();
    harness.api.addOrder(known.orderId, 1234); // the order API is the truth, not the event
    harness.api.addOrder(flaky.orderId, 5678);
    harness.api.failNext(flaky.orderId, 2, 503);
    const billing = await bill(topic);
    const knownAt = await produceMessage(harness.producer, topic, known);
    const ghostAt = await produceMessage(harness.producer, topic, ghost);
    const flakyAt = await produceMessage(harness.producer, topic, flaky);

    const stats = await billing.waitForHandled(3);
    await billing.stop();
    expect(stats).toMatchObject({ handled: 3, outcomes: { invoiced: 2, ghost: 1 }, retries: 2, skipped: 0 });
    expect(await invoicesOf(known.orderId)).toEqual([
      expect.objectContaining({ event_id: known.eventId, outcome: 'invoiced', amount_cents: '1234', callback_status: 200, kafka_topic: topic, kafka_partition: knownAt.partition, kafka_offset: knownAt.offset }),
    ]);
    expect(await invoicesOf(ghost.orderId)).toEqual([
      expect.objectContaining({ event_id: ghost.eventId, outcome: 'ghost', amount_cents: null, callback_status: 404, kafka_partition: ghostAt.partition, kafka_offset: ghostAt.offset }),
    ]);
    expect(await invoicesOf(flaky.orderId)).toEqual([
      expect.objectContaining({ event_id: flaky.eventId, outcome: 'invoiced', amount_cents: '5678', callback_status: 200, kafka_partition: flakyAt.partition, kafka_offset: flakyAt.offset }),
    ]);
    expect(harness.api.hits(flaky.orderId)).toBe(3);
  });

  it('skips a malformed message and invoices the order behind it on the same partition', async () => {
    const topic = await lab.topic('malformed', 1);
    const order = orderCreatedEvent();
    harness.api.addOrder(order.orderId, order.totalCents);
    const billing = await bill(topic);
    await produceMessage(harness.producer, topic, { key: order.orderId, value: JSON.stringify({ type: 'OrderCreated', orderId: order.orderId }) });
    const orderAt = await produceMessage(harness.producer, topic, order);

    const stats = await billing.waitForHandled(2);
    await billing.stop();
    expect(stats).toMatchObject({ handled: 2, skipped: 1, outcomes: { invoiced: 1 } });
    expect(await invoicesOf(order.orderId)).toEqual([expect.objectContaining({ outcome: 'invoiced', kafka_offset: orderAt.offset })]);
  });

  it('takes topic, brokers, database and order API from the config; stop() leaves the group and closes its connections', async () => {
    const topic = await lab.topic('from-config');
    const config = resolveConfig({ DATABASE_URL: lab.db.url, ORDERS_TOPIC: topic, HOST: '127.0.0.1', PORT: Number(new URL(harness.api.url).port) });
    const groupId = `${lab.id}-billing-config`;
    const order = orderCreatedEvent();
    harness.api.addOrder(order.orderId, 42);
    const billing = await startBilling({ config, groupId, log: () => {} });
    expect(billing).toMatchObject({ name: 'billing', groupId, topic });
    await produceMessage(harness.producer, topic, order);
    await billing.waitForHandled(1);
    await billing.stop();

    expect(await invoicesOf(order.orderId)).toEqual([expect.objectContaining({ outcome: 'invoiced', amount_cents: '42' })]);
    const admin = lab.kafka().admin();
    await admin.connect();
    const { groups } = await admin.describeGroups([groupId]);
    await admin.disconnect();
    expect(groups[0]!.members).toEqual([]);
    const { rows } = await lab.pool().query("select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'dw-billing'", [lab.db.name]);
    expect(rows[0].n).toBe(0);
    expect(BILLING_GROUP_ID).toBe('billing');
  });

  it('main.ts: --help prints the usage; an invalid setting stops it at start with the code and a hint', () => {
    const help = tsx(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: npm run billing/);
    expect(help.stdout).toMatch(/consumer group "billing"/);

    const run = tsx([], { ORDERS_TOPIC: 'not a topic!' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/\[DW_CONFIG_INVALID\] ORDERS_TOPIC="not a topic!" is not valid/);
    expect(run.stderr).toMatch(/→ Fix ORDERS_TOPIC/);
  });
});
