/**
 * The other direction: a team that already has a Debezium outbox table (Debezium's minimal layout: id,
 * aggregatetype, aggregateid, type, payload) points the relay at it after one step —
 * migrateOutbox(client, { adoptExistingTable: true }) — with no change to its writers (they go on inserting only
 * Debezium's columns) or its consumers (topic outbox.event.<aggregatetype>, key = aggregateid, value = payload,
 * header id = the event id, as Debezium's router by default). Rows written before the adoption are published too.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { migrateOutbox, OutboxError } from '@dual-write/outbox';
import { DEFAULT_TOPIC } from '../src/index.ts';
import { cleanupRelays, outboxCount, relayOn } from './helpers.ts';

// Debezium's documented outbox table, as a team that runs Debezium has it.
const DEBEZIUM_TABLE = `create table outbox (
  id uuid primary key,
  aggregatetype varchar(255) not null,
  aggregateid varchar(255) not null,
  type varchar(255) not null,
  payload jsonb
)`;

const lab = useLab({ initSql: DEBEZIUM_TABLE });
afterEach(cleanupRelays);
const topics: string[] = [];
afterAll(async () => {
  const admin = lab.kafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

/** The team's writer, unchanged: Debezium's five columns, in its own transaction. */
async function debeziumWriter(client: pg.ClientBase, aggregateType: string, rows: { key: string; payload: unknown }[], finish: 'commit' | 'rollback' = 'commit'): Promise<string[]> {
  await client.query('begin');
  const ids: string[] = [];
  for (const r of rows) {
    const id = randomUUID();
    await client.query('insert into outbox (id, aggregatetype, aggregateid, type, payload) values ($1, $2, $3, $4, $5)', [id, aggregateType, r.key, 'OrderCreated', JSON.stringify(r.payload)]);
    ids.push(id);
  }
  await client.query(finish);
  return finish === 'commit' ? ids : [];
}

describe('a Debezium outbox table, adopted by the relay', () => {
  it('refuses to migrate over it unless asked, adopts it in one step, and the relay publishes old and new rows as Debezium would', async () => {
    const aggregateType = `order_${lab.id}`;
    const topic = DEFAULT_TOPIC.replace('${aggregatetype}', aggregateType);
    topics.push(topic);
    const admin = lab.kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const pool = lab.pool({ max: 2 });
    const client = await pool.connect();
    try {
      const before = await debeziumWriter(client, aggregateType, [{ key: 'o-1', payload: { n: 1 } }, { key: 'o-2', payload: { n: 2, text: 'é "q"' } }]);
      // Not created by the outbox migrations: refused without the option, naming it.
      const refused = await migrateOutbox(client).then(() => undefined, (e: unknown) => e as OutboxError);
      expect(refused).toBeInstanceOf(OutboxError);
      expect([refused!.code, refused!.hint]).toEqual(['DW_OUTBOX_INVALID_OPTION', expect.stringContaining('adoptExistingTable: true')]);
      // The one step.
      expect((await migrateOutbox(client, { adoptExistingTable: true })).applied).toEqual(['000001_outbox', '000002_key_locks']);
      expect((await migrateOutbox(client)).applied).toEqual([]);
      // The writers go on unchanged.
      const after = await debeziumWriter(client, aggregateType, [{ key: 'o-1', payload: { n: 3 } }, { key: 'o-3', payload: ['a', 1] }]);
      await debeziumWriter(client, aggregateType, [{ key: 'o-9', payload: { never: true } }], 'rollback');

      const consumer = lab.kafka().consumer({ groupId: `${lab.id}-adopted` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: { key: string; value: string; id: string; type: string }[] = [];
      const all = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push({ key: message.key!.toString(), value: message.value!.toString(), id: message.headers!.id!.toString(), type: message.headers!.type!.toString() });
            if (seen.length >= 4) resolve();
          },
        });
      });
      // The relay with its defaults: topics as Debezium's router (outbox.event.<aggregatetype>).
      const relay = await relayOn(lab, DEFAULT_TOPIC);
      await all;
      await relay.waitUntilDrained();
      await consumer.disconnect();
      const ids = [...before, ...after];
      expect(seen.map((m) => m.id).sort()).toEqual([...ids].sort());
      const byId = new Map(seen.map((m) => [m.id, m]));
      expect(byId.get(before[1]!)).toMatchObject({ key: 'o-2', id: before[1], type: 'OrderCreated' });
      expect(JSON.parse(byId.get(before[1]!)!.value)).toEqual({ n: 2, text: 'é "q"' });
      expect(JSON.parse(byId.get(after[1]!)!.value)).toEqual(['a', 1]);
      // Per key in order: o-1's first event before its second.
      const o1 = seen.filter((m) => m.key === 'o-1').map((m) => JSON.parse(m.value).n);
      expect(o1).toEqual([1, 3]);
      expect(await outboxCount(lab)).toBe(0);
    } finally {
      client.release();
    }
  });

  it('refuses a table whose columns would need converting (payload as text), saying what to change', async () => {
    const pool = lab.pool({ max: 1 });
    await pool.query('create table legacy_outbox (id uuid primary key, aggregatetype text not null, aggregateid text not null, type text not null, payload text)');
    const err = await migrateOutbox(pool, { table: 'legacy_outbox', adoptExistingTable: true }).then(() => undefined, (e: unknown) => e as OutboxError);
    expect(err?.code).toBe('DW_OUTBOX_INVALID_OPTION');
    expect(err?.message).toContain('payload is text (expected jsonb)');
    expect(err?.hint).toContain('alter column payload type jsonb');
    // Nothing was half-done: no relay column, no tracking table.
    const cols = await pool.query("select column_name from information_schema.columns where table_name = 'legacy_outbox' order by ordinal_position");
    expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'aggregatetype', 'aggregateid', 'type', 'payload']);
    expect((await pool.query("select to_regclass('legacy_outbox_migrations') as t")).rows[0].t).toBeNull();
  });
});
