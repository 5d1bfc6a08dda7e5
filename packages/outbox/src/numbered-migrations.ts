/**
 * Numbered SQL migrations (`000001_name.sql` …) applied in order, each once, recorded in a tracking table.
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do. A released migration must not
 * change: its checksum is recorded, and a changed file is an error. The outbox's own migrations use this, and
 * so can an application's (packages/schema does).
 *
 * Placeholders: a set may name tokens (`:OUTBOX`, `:OUTBOX_DEAD_LETTERS` …, an uppercase word after a single
 * colon) that are replaced in every file before it runs — the outbox substitutes its schema and table names so.
 * The checksum is taken on the file with each token replaced by its `checksumAs` text instead (the default name
 * it stood for), so it does not depend on the names being substituted: a migration has one checksum in every
 * schema, and a file that gained placeholders later keeps the checksum databases recorded before.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OutboxError } from './errors.ts';
import type { SqlExecutor } from './types.ts';

export interface NumberedMigration {
  id: number;
  name: string;
  /** The SQL that runs (placeholders substituted). */
  sql: string;
  checksum: string;
}

/** A token of migration files: replaced by `value` before the file runs, by `checksumAs` for its checksum. */
export interface Placeholder {
  value: string;
  checksumAs: string;
}

/** `:NAME` — an uppercase word after a single colon (a cast such as `::TEXT` is not one). */
const TOKEN = /(?<![:\w]):([A-Z][A-Z0-9_]*)(?![\w])/g;

function substitute(sql: string, placeholders: Readonly<Record<string, Placeholder>>, use: keyof Placeholder, where: () => string): string {
  return sql.replace(TOKEN, (token: string, name: string) => {
    const p = Object.prototype.hasOwnProperty.call(placeholders, name) ? placeholders[name] : undefined;
    if (!p) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${where()} uses the unknown placeholder ${token}.`, `Known placeholders: ${Object.keys(placeholders).map((k) => `:${k}`).join(', ')}.`);
    return p[use];
  });
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
  /** Schema of the tracking table, created if missing; without it the tracking table is found on the search_path. */
  schema?: string;
  /** Tokens replaced in every file before it runs (see the top of this file). */
  placeholders?: Readonly<Record<string, Placeholder>>;
  /**
   * SQL to run INSTEAD of a migration that is not applied yet (by id), recorded as that migration with its
   * checksum: how an existing table is adopted in place of the migration that would have created it.
   */
  insteadOf?: ReadonlyMap<number, string>;
}

/** A file's SQL with `placeholders` substituted, as loadNumberedMigrations() does for the numbered files. */
export function substitutedSql(sql: string, placeholders: Readonly<Record<string, Placeholder>> | undefined, file: string): string {
  return placeholders ? substitute(sql, placeholders, 'value', () => file) : sql;
}

/**
 * Reads `000001_name.sql` files from a folder, checked for gaps and duplicates. With `placeholders`, each file's
 * `sql` has them substituted and its checksum is taken with their `checksumAs` text.
 */
export function loadNumberedMigrations(dir: string, what = 'Migration', placeholders?: Readonly<Record<string, Placeholder>>): NumberedMigration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const migrations = files.map((file) => {
    const m = /^(\d{6})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${what} file "${file}" is not named like 000001_name.sql.`, `Rename it in ${dir}.`);
    const text = readFileSync(path.join(dir, file), 'utf8');
    const where = () => `${what} ${file}`;
    const sql = placeholders ? substitute(text, placeholders, 'value', where) : text;
    const checksummed = placeholders ? substitute(text, placeholders, 'checksumAs', where) : text;
    return { id: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(checksummed).digest('hex') };
  });
  migrations.forEach((mig, i) => {
    if (mig.id !== i + 1) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${what}s must be numbered 1, 2, 3… without gaps; found ${mig.id} at position ${i + 1}.`, `Renumber the files in ${dir}.`);
  });
  return migrations;
}

export const migrationLabel = (m: NumberedMigration) => `${String(m.id).padStart(6, '0')}_${m.name}`;

/** Applies the missing migrations of `set` on ONE connection outside any transaction (it opens and commits its own). */
export async function applyNumberedMigrations(db: SqlExecutor, set: MigrationSet, log: (line: string) => void = () => {}): Promise<MigrateResult> {
  const plain = /^[a-z_][a-z0-9_]{0,62}$/;
  if (!plain.test(set.table)) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `Tracking table name "${set.table}" is not a plain SQL identifier.`, 'Use lowercase letters, digits and underscores.');
  if (set.schema !== undefined && !plain.test(set.schema)) throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `Schema name "${set.schema}" is not a plain SQL identifier.`, 'Use lowercase letters, digits and underscores.');
  const tracking = set.schema === undefined ? set.table : `"${set.schema}"."${set.table}"`;
  const migrations = loadNumberedMigrations(set.dir, set.what, set.placeholders);
  const applied: string[] = [];
  await db.query('begin');
  try {
    await db.query('select pg_advisory_xact_lock($1)', [set.lockKey]);
    // Only when missing: CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database even when the
    // schema exists, and an application role often lacks it.
    if (set.schema !== undefined && (await db.query('select 1 from pg_namespace where nspname = $1', [set.schema])).rows.length === 0) {
      await db.query(`create schema if not exists "${set.schema}"`);
      log(`created schema ${set.schema}`);
    }
    await db.query(`create table if not exists ${tracking} (
      id integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await db.query(`select id, name, checksum from ${tracking} order by id`);
    const done = new Map((rows as { id: number; name: string; checksum: string }[]).map((r) => [r.id, r]));
    for (const mig of migrations) {
      const prior = done.get(mig.id);
      if (prior) {
        if (prior.checksum !== mig.checksum) {
          throw new OutboxError('DW_OUTBOX_MIGRATION_CHANGED', `${set.what} ${migrationLabel(mig)} changed after it was applied.`, 'Released migrations are never edited: revert the file and add a new numbered migration.');
        }
        continue;
      }
      const instead = set.insteadOf?.get(mig.id);
      await db.query(instead ?? mig.sql);
      await db.query(`insert into ${tracking} (id, name, checksum) values ($1, $2, $3)`, [mig.id, mig.name, mig.checksum]);
      if (instead !== undefined) log(`adopted the existing table in place of ${set.what.toLowerCase()} ${migrationLabel(mig)}`);
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
