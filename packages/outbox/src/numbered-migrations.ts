/**
 * Numbered SQL migrations (`000001_name.sql` …) applied in order, each once, recorded in a tracking table.
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do. A released migration must not
 * change: its checksum is recorded, and a changed file is an error. The outbox's own migrations use this, and
 * so can an application's (packages/schema does).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OutboxError } from './errors.ts';
import type { SqlExecutor } from './types.ts';

export interface NumberedMigration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  /** Migrations this call applied, like `000001_outbox`. */
  applied: string[];
  alreadyApplied: number;
}

export interface MigrationSet {
  /** Folder of `000001_name.sql` files. */
  dir: string;
  /** Tracking table (created if missing). */
  table: string;
  /** pg_advisory_xact_lock key held while migrating. */
  lockKey: number;
  /** Named in errors and logs, e.g. "Outbox migration". */
  what: string;
}

/** Reads `000001_name.sql` files from a folder, checked for gaps and duplicates. */
export function loadNumberedMigrations(dir: string, what = 'Migration'): NumberedMigration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const migrations = files.map((file) => {
    const m = /^(\d{6})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${what} file "${file}" is not named like 000001_name.sql.`, `Rename it in ${dir}.`);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { id: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  migrations.forEach((mig, i) => {
    if (mig.id !== i + 1) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${what}s must be numbered 1, 2, 3… without gaps; found ${mig.id} at position ${i + 1}.`, `Renumber the files in ${dir}.`);
  });
  return migrations;
}

export const migrationLabel = (m: NumberedMigration) => `${String(m.id).padStart(6, '0')}_${m.name}`;

/** Applies the missing migrations of `set` on ONE connection outside any transaction (it opens and commits its own). */
export async function applyNumberedMigrations(db: SqlExecutor, set: MigrationSet, log: (line: string) => void = () => {}): Promise<MigrateResult> {
  if (!/^[a-z_][a-z0-9_]*$/.test(set.table)) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `Tracking table name "${set.table}" is not a plain SQL identifier.`, 'Use lowercase letters, digits and underscores.');
  const migrations = loadNumberedMigrations(set.dir, set.what);
  const applied: string[] = [];
  await db.query('begin');
  try {
    await db.query('select pg_advisory_xact_lock($1)', [set.lockKey]);
    await db.query(`create table if not exists ${set.table} (
      id integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await db.query(`select id, name, checksum from ${set.table} order by id`);
    const done = new Map((rows as { id: number; name: string; checksum: string }[]).map((r) => [r.id, r]));
    for (const mig of migrations) {
      const prior = done.get(mig.id);
      if (prior) {
        if (prior.checksum !== mig.checksum) {
          throw new OutboxError('DW_OUTBOX_MIGRATION_CHANGED', `${set.what} ${migrationLabel(mig)} changed after it was applied.`, 'Released migrations are never edited: revert the file and add a new numbered migration.');
        }
        continue;
      }
      await db.query(mig.sql);
      await db.query(`insert into ${set.table} (id, name, checksum) values ($1, $2, $3)`, [mig.id, mig.name, mig.checksum]);
      applied.push(migrationLabel(mig));
      log(`applied ${set.what.toLowerCase()} ${migrationLabel(mig)}`);
    }
    await db.query('commit');
  } catch (err) {
    await db.query('rollback').catch(() => {});
    throw err;
  }
  return { applied, alreadyApplied: migrations.length - applied.length };
}
