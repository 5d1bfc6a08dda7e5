/**
 * Numbered SQL migrations (migrations/000001_name.sql …), applied in order, each once.
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do.
 * A released migration must not change: its checksum is recorded, and a changed file is an error.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { DwError } from '@dual-write/config';
import { migrateOutbox, pgExecutor } from '@dual-write/outbox';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const LOCK_KEY = 74_110_002;

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Reads `000001_name.sql` files from a folder, checked for gaps and duplicates. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const migrations = files.map((file) => {
    const m = /^(\d{6})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new DwError('DW_CONFIG_INVALID', `Migration file "${file}" is not named like 000001_name.sql.`, `Rename it in ${dir}.`);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { id: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  migrations.forEach((mig, i) => {
    if (mig.id !== i + 1) throw new DwError('DW_CONFIG_INVALID', `Migrations must be numbered 1, 2, 3… without gaps; found ${mig.id} at position ${i + 1}.`, `Renumber the files in ${dir}.`);
  });
  return migrations;
}

/** Anything with pg's `query(text, values)`: a pg.Client or a pool client. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(client: Queryable, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const migrations = loadMigrations(opts.dir);
  const log = opts.log ?? (() => {});
  const applied: string[] = [];
  await client.query('begin');
  try {
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(`create table if not exists dw_migrations (
      id integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await client.query<{ id: number; name: string; checksum: string }>('select id, name, checksum from dw_migrations order by id');
    const done = new Map(rows.map((r) => [r.id, r]));
    for (const mig of migrations) {
      const prior = done.get(mig.id);
      if (prior) {
        if (prior.checksum !== mig.checksum) {
          throw new DwError('DW_CONFIG_INVALID', `Migration ${mig.id} (${mig.name}) changed after it was applied.`, 'Released migrations are never edited: revert the file and add a new numbered migration.');
        }
        continue;
      }
      await client.query(mig.sql);
      await client.query('insert into dw_migrations (id, name, checksum) values ($1, $2, $3)', [mig.id, mig.name, mig.checksum]);
      applied.push(`${String(mig.id).padStart(6, '0')}_${mig.name}`);
      log(`applied ${String(mig.id).padStart(6, '0')}_${mig.name}`);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
  return { applied, alreadyApplied: migrations.length - applied.length };
}

/**
 * Everything the lab's services need: this package's migrations, then the outbox library's own
 * (outbox, dead letters, inbox — tracked in their own table, so the library stays usable on its own).
 */
export async function migrateLab(client: Queryable, opts: { log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const result = await migrate(client, opts);
  const outbox = await migrateOutbox(pgExecutor(client as never));
  return { applied: [...result.applied, ...outbox.applied.map((a) => `outbox/${a}`)], alreadyApplied: result.alreadyApplied + (outbox.alreadyApplied ?? 0) };
}
