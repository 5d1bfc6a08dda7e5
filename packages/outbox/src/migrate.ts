/**
 * The outbox's own numbered migrations (migrations/000001_outbox.sql …), tracked in `outbox_migrations`,
 * separate from the application's, so the library can be adopted by any schema.
 *
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do. A released migration must not
 * change: its checksum is recorded, and a changed file is an error.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DwError } from '@dual-write/config';
import { poolBehind } from './adapters/pg.ts';
import type { SqlExecutor } from './types.ts';

export const OUTBOX_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** pg_advisory_xact_lock key held while migrating (the schema package uses 74_110_002). */
const LOCK_KEY = 74_110_003;

export interface OutboxMigration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface OutboxMigrateResult {
  /** Migrations this call applied, like `000001_outbox`. */
  applied: string[];
  alreadyApplied: number;
}

/** Reads `000001_name.sql` files, checked for gaps and duplicates. */
export function loadOutboxMigrations(dir: string = OUTBOX_MIGRATIONS_DIR): OutboxMigration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const migrations = files.map((file) => {
    const m = /^(\d{6})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new DwError('DW_CONFIG_INVALID', `Migration file "${file}" is not named like 000001_name.sql.`, `Rename it in ${dir}.`);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { id: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  migrations.forEach((mig, i) => {
    if (mig.id !== i + 1) throw new DwError('DW_CONFIG_INVALID', `Outbox migrations must be numbered 1, 2, 3… without gaps; found ${mig.id} at position ${i + 1}.`, `Renumber the files in ${dir}.`);
  });
  return migrations;
}

const label = (m: OutboxMigration) => `${String(m.id).padStart(6, '0')}_${m.name}`;

/**
 * Applies the outbox migrations that are missing. `executor` must be ONE connection outside any transaction
 * (a pg.Client, a pool client, `pgExecutor(client)`): this opens and commits its own transaction. A pg.Pool
 * (or `pgExecutor(pool)`) is accepted too: one of its connections is checked out for the duration.
 */
export async function migrateOutbox(executor: SqlExecutor, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<OutboxMigrateResult> {
  const pool = poolBehind(executor);
  if (pool) {
    const client = await pool.connect();
    try {
      return await migrateOn(client, opts);
    } finally {
      client.release();
    }
  }
  return migrateOn(executor, opts);
}

async function migrateOn(db: SqlExecutor, opts: { dir?: string; log?: (line: string) => void }): Promise<OutboxMigrateResult> {
  const migrations = loadOutboxMigrations(opts.dir);
  const log = opts.log ?? (() => {});
  const applied: string[] = [];
  await db.query('begin');
  try {
    await db.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await db.query(`create table if not exists outbox_migrations (
      id integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await db.query('select id, name, checksum from outbox_migrations order by id');
    const done = new Map((rows as { id: number; name: string; checksum: string }[]).map((r) => [r.id, r]));
    for (const mig of migrations) {
      const prior = done.get(mig.id);
      if (prior) {
        if (prior.checksum !== mig.checksum) {
          throw new DwError('DW_CONFIG_INVALID', `Outbox migration ${label(mig)} changed after it was applied.`, 'Released migrations are never edited: revert the file and add a new numbered migration.');
        }
        continue;
      }
      await db.query(mig.sql);
      await db.query('insert into outbox_migrations (id, name, checksum) values ($1, $2, $3)', [mig.id, mig.name, mig.checksum]);
      applied.push(label(mig));
      log(`applied outbox migration ${label(mig)}`);
    }
    await db.query('commit');
  } catch (err) {
    await db.query('rollback').catch(() => {});
    throw err;
  }
  return { applied, alreadyApplied: migrations.length - applied.length };
}
