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
  await c.query('drop schema public cascade; create schema public');
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
    expect(trigger.rows.map((r) => r.tgname)).toEqual(['outbox_notify']);
    // The relay's read can be served by the (transaction_id, position) index (the table is empty here, so the
    // planner would rather scan it: tell it not to, to see what it does on a large table).
    const c = await pool.connect();
    await c.query('begin; set local enable_seqscan = off');
    const plan = await c.query(`explain select * from outbox where transaction_id < pg_snapshot_xmin(pg_current_snapshot()) order by transaction_id, position limit 500`);
    await c.query('rollback');
    c.release();
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('outbox_relay_order_idx');
  });

  it('a second run applies nothing; a pg.Pool works too (one connection is checked out for the transaction)', async () => {
    const pool = lab.pool({ max: 2 });
    expect((await migrateOutbox(pool)).applied).toHaveLength(loadOutboxMigrations().length);
    expect((await migrateOutbox(pool)).applied).toEqual([]);
    expect((await migrateOutbox(pgExecutor(pool))).alreadyApplied).toBe(loadOutboxMigrations().length);
    await pool.end();
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
