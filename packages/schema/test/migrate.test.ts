import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { loadMigrations, migrate, seedDemoData, verifyPassword, DEMO_USER } from '../src/index.ts';

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

describe('migrate', () => {
  it('applies every migration once, even when two processes migrate at the same moment', async () => {
    const [a, b] = [await client(), await client()];
    const results = await Promise.all([migrate(a), migrate(b)]);
    await Promise.all([a.end(), b.end()]);
    const all = loadMigrations().length;
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, all]);
    const pool = lab.pool();
    const { rows } = await pool.query('select count(*)::int as n from dw_migrations');
    expect(rows[0].n).toBe(all);
    const tables = await pool.query("select table_name from information_schema.tables where table_schema = 'public' order by 1");
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['orders', 'products', 'users', 'shipments', 'invoices']));
    await pool.end();
  });

  it('a second run applies nothing; seeding twice leaves one demo user whose password verifies', async () => {
    const c = await client();
    expect((await migrate(c)).applied).toHaveLength(loadMigrations().length);
    expect((await migrate(c)).applied).toEqual([]);
    await seedDemoData(c);
    await seedDemoData(c);
    const { rows } = await c.query('select password_hash from users where email = $1', [DEMO_USER.email]);
    await c.end();
    expect(rows).toHaveLength(1);
    expect(verifyPassword(DEMO_USER.password, rows[0].password_hash)).toBe(true);
    expect(verifyPassword('wrong', rows[0].password_hash)).toBe(false);
  });

  it('refuses a released migration whose file changed, and a badly named file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    writeFileSync(path.join(dir, '000001_a.sql'), 'create table t_a (id int);');
    const c = await client();
    expect((await migrate(c, { dir })).applied).toEqual(['000001_a']);
    writeFileSync(path.join(dir, '000001_a.sql'), 'create table t_a (id bigint);');
    await expect(migrate(c, { dir })).rejects.toThrow(/changed after it was applied/);
    await c.end();
    writeFileSync(path.join(dir, 'oops.sql'), 'select 1;');
    expect(() => loadMigrations(dir)).toThrow(/not named like 000001_name\.sql/);
  });
});
