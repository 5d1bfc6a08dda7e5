/**
 * `npm run migrate` (node scripts/run.mjs migrate) for real, on this file's scratch database: it applies the
 * schema's and the outbox's migrations to DATABASE_URL and seeds the demo data; a second run applies nothing
 * and seeds nothing twice; a database it cannot reach is an error with exit 1.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '@dual-write/config';
import { loadOutboxMigrations } from '@dual-write/outbox';
import { runCommand, useLab } from '@dual-write/testkit';
import { DEMO_PRODUCTS, loadMigrations } from '../src/index.ts';

const lab = useLab();

function migrate(args: string[], env: NodeJS.ProcessEnv) {
  return runCommand(process.execPath, [path.join(lab.config.repoRoot, 'scripts/run.mjs'), 'migrate', ...args], { cwd: lab.config.repoRoot, env: { ...process.env, ...env } });
}

async function snapshot() {
  const pool = lab.pool({ max: 1 });
  try {
    const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]!.n;
    return {
      migrations: await count('select count(*)::int as n from dw_migrations'),
      outboxMigrations: await count('select count(*)::int as n from outbox_migrations'),
      users: await count('select count(*)::int as n from users'),
      products: await count('select count(*)::int as n from products'),
      tables: (await pool.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = 'public' order by 1")).rows.map((r) => r.t),
    };
  } finally {
    await pool.end();
  }
}

describe('npm run migrate', () => {
  it('applies every migration to DATABASE_URL and seeds the demo data; run twice, the second applies and adds nothing', async () => {
    const all = loadMigrations().length + loadOutboxMigrations().length;
    const first = await migrate([], { DATABASE_URL: lab.db.url });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`schema up to date (${all} applied now, 0 before)`);
    const after1 = await snapshot();
    expect(after1).toMatchObject({ migrations: loadMigrations().length, outboxMigrations: loadOutboxMigrations().length, users: 1, products: DEMO_PRODUCTS.length });
    expect(after1.tables).toEqual(expect.arrayContaining(['orders', 'products', 'users', 'shipments', 'invoices', 'outbox', 'outbox_dead_letters', 'inbox']));

    const second = await migrate([], { DATABASE_URL: lab.db.url });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`schema up to date (0 applied now, ${all} before)`);
    expect(await snapshot()).toEqual(after1);
  });

  it('a database that does not exist (--url): exit 1 naming it, nothing created', async () => {
    const missing = `${lab.db.name}_missing`;
    const r = await migrate(['--url', withDatabase(lab.db.url, missing)], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`database "${missing}" does not exist`);
  });
});
