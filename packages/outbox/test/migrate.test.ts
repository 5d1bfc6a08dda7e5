import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { loadOutboxMigrations, migrateOutbox, pgExecutor } from '../src/index.ts';

const lab = useLab();

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: lab.db.url });
  await c.connect();
  return c;
}

// Each test starts from an empty database and sets up what it needs: none depends on another's leftovers.
beforeEach(async () => {
  const c = await client();
  await c.query('drop schema public cascade; create schema public; drop schema if exists billing_events cascade');
  await c.end();
});

describe('migrateOutbox', () => {
  it('run by two processes at the same moment: one applies everything, the other nothing, and one schema results', async () => {
    const [a, b] = [await client(), await client()];
    const results = await Promise.all([migrateOutbox(a), migrateOutbox(pgExecutor(b))]);
    await Promise.all([a.end(), b.end()]);
    const all = loadOutboxMigrations().length;
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, all]);

    const pool = lab.pool();
    expect((await pool.query('select count(*)::int as n from outbox_migrations')).rows[0].n).toBe(all);
    const tables = await pool.query("select table_name from information_schema.tables where table_schema = 'public' order by 1");
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['outbox', 'outbox_dead_letters', 'inbox', 'outbox_migrations']));
    const columns = await pool.query("select column_name, data_type from information_schema.columns where table_name = 'outbox' order by ordinal_position");
    expect(Object.fromEntries(columns.rows.map((r) => [r.column_name, r.data_type]))).toEqual({
      id: 'uuid', aggregatetype: 'text', aggregateid: 'text', type: 'text', payload: 'jsonb', headers: 'jsonb',
      created_at: 'timestamp with time zone', position: 'bigint', transaction_id: 'xid8', attempts: 'integer',
      last_error: 'text', next_attempt_at: 'timestamp with time zone',
    });
    const trigger = await pool.query("select tgname from pg_trigger where tgrelid = 'outbox'::regclass and not tgisinternal");
    expect(trigger.rows.map((r) => r.tgname).sort()).toEqual(['outbox_key_lock', 'outbox_notify']);
    // The relay's read (position order) can be served by the unique index on position (the table is empty here, so the
    // planner would rather scan it: tell it not to, to see what it does on a large table).
    const c = await pool.connect();
    await c.query('begin; set local enable_seqscan = off');
    const plan = await c.query(`explain select * from outbox order by position limit 500`);
    await c.query('rollback');
    c.release();
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('outbox_position_key');
  });

  it('a second run applies nothing; a pg.Pool works too (one connection is checked out for the transaction)', async () => {
    const pool = lab.pool({ max: 2 });
    expect((await migrateOutbox(pool)).applied).toHaveLength(loadOutboxMigrations().length);
    expect((await migrateOutbox(pool)).applied).toEqual([]);
    expect((await migrateOutbox(pgExecutor(pool))).alreadyApplied).toBe(loadOutboxMigrations().length);
    await pool.end();
  });

  it('with { schema, table }: creates the schema, names every object after the table, tracks it apart; two outboxes share a schema; NOTIFY per outbox', async () => {
    const billing = { schema: 'billing_events', table: 'events_outbox' };
    const c = await client();
    try {
      expect((await migrateOutbox(c, billing)).applied).toEqual(['000001_outbox', '000002_key_locks']);
      expect((await migrateOutbox(pgExecutor(c), billing)).applied).toEqual([]);
      const objects = async (schema: string) =>
        (await c.query("select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'i') order by 1", [schema])).rows.map((r) => r.relname);
      expect(await objects('billing_events')).toEqual(expect.arrayContaining([
        'events_outbox', 'events_outbox_dead_letters', 'events_outbox_inbox', 'events_outbox_migrations',
        'events_outbox_failing_key_idx', 'events_outbox_dead_letters_key_idx',
      ]));
      expect(await objects('billing_events')).not.toContain('events_outbox_relay_order_idx'); // dropped by 000002
      expect(await objects('public')).toEqual([]); // nothing of the default outbox
      const fn = await c.query("select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'billing_events'");
      expect(fn.rows.map((r) => r.proname).sort()).toEqual(['events_outbox_key_lock', 'events_outbox_notify']);
      const trigger = await c.query(`select tgname from pg_trigger where tgrelid = 'billing_events.events_outbox'::regclass and not tgisinternal`);
      expect(trigger.rows.map((r) => r.tgname).sort()).toEqual(['events_outbox_key_lock', 'events_outbox_notify']);

      // The default outbox next to it, and a second outbox in the same schema: independent, no name clashes.
      expect((await migrateOutbox(c)).applied).toEqual(['000001_outbox', '000002_key_locks']);
      expect((await migrateOutbox(c, { schema: 'billing_events', table: 'refunds_outbox' })).applied).toEqual(['000001_outbox', '000002_key_locks']);
      expect(await objects('public')).toEqual(expect.arrayContaining(['outbox', 'outbox_dead_letters', 'inbox', 'outbox_migrations']));
      expect(await objects('billing_events')).toEqual(expect.arrayContaining(['refunds_outbox', 'refunds_outbox_inbox', 'events_outbox']));
      // The checksum does not depend on the names.
      const sums = await c.query('select (select array_agg(checksum order by id) from billing_events.events_outbox_migrations) as a, (select array_agg(checksum order by id) from public.outbox_migrations) as b');
      expect(sums.rows[0].a).toHaveLength(2);
      expect(sums.rows[0].a).toEqual(sums.rows[0].b);

      // Each outbox's insert trigger notifies its own channel only.
      const listener = await client();
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.channel));
      await listener.query('listen outbox; listen "billing_events.events_outbox"; listen "billing_events.refunds_outbox"');
      const insert = (table: string) =>
        c.query(`insert into ${table} (id, aggregatetype, aggregateid, type, payload) values (gen_random_uuid(), 'a', 'k', 't', '{}')`);
      await insert('billing_events.events_outbox');
      await insert('billing_events.refunds_outbox');
      await insert('public.outbox');
      await listener.query('select 1'); // notifications sent before this round trip have arrived
      await listener.end();
      expect(heard).toEqual(['billing_events.events_outbox', 'billing_events.refunds_outbox', 'outbox']);
    } finally {
      await c.end();
    }
  });

  it('refuses a released migration whose file changed, and a badly named file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-mig-'));
    writeFileSync(path.join(dir, '000001_a.sql'), 'create table t_a (id int);');
    const c = await client();
    expect((await migrateOutbox(c, { dir })).applied).toEqual(['000001_a']);
    writeFileSync(path.join(dir, '000001_a.sql'), 'create table t_a (id bigint);');
    await expect(migrateOutbox(c, { dir })).rejects.toThrow(/changed after it was applied/);
    await c.end();
    writeFileSync(path.join(dir, 'oops.sql'), 'select 1;');
    expect(() => loadOutboxMigrations(dir)).toThrow(/not named like 000001_name\.sql/);
  });
});
