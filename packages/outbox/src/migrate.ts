/**
 * The outbox's own numbered migrations (migrations/000001_outbox.sql …), tracked in `<table>_migrations`
 * (`outbox_migrations` by default) in the outbox's schema, separate from the application's, so the library can
 * be adopted by any schema.
 *
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do. A released migration must not
 * change: its checksum is recorded, and a changed file is an error.
 *
 * Names: the files say `:OUTBOX`, `:OUTBOX_DEAD_LETTERS`, `:OUTBOX_INBOX`, `:OUTBOX_NOTIFY_FUNCTION`,
 * `:OUTBOX_NOTIFY_TRIGGER`, `:OUTBOX_NOTIFY_CHANNEL` (a string literal), `:OUTBOX_RELAY_ORDER_INDEX`,
 * `:OUTBOX_FAILING_KEY_INDEX`, `:OUTBOX_DEAD_LETTERS_KEY_INDEX` where a name goes; they are replaced with the
 * quoted (schema-qualified for tables and the function) names of the `{ schema, table }` options (tables.ts)
 * before a file runs. The checksum is taken with the DEFAULT names written in their place, so it is the same in
 * every schema and equal to what databases migrated before the options existed recorded.
 */
import { fileURLToPath } from 'node:url';
import { poolBehind } from './adapters/pg.ts';
import { applyNumberedMigrations, loadNumberedMigrations, type MigrateResult, type MigrationSet, type NumberedMigration } from './numbered-migrations.ts';
import { outboxMigrationPlaceholders, outboxTables, type OutboxTables } from './tables.ts';
import type { SqlExecutor } from './types.ts';

export const OUTBOX_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** pg_advisory_xact_lock key held while migrating (the schema package uses 74_110_002). Shared by every schema. */
const LOCK_KEY = 74_110_003;

export type OutboxMigration = NumberedMigration;
export type OutboxMigrateResult = MigrateResult;

export interface MigrateOutboxOptions extends OutboxTables {
  /** Folder of the migration files (default: the package's migrations/). */
  dir?: string;
  log?: (line: string) => void;
}

/** Reads the outbox's `000001_name.sql` files, checked for gaps and duplicates, with the names of `tables` substituted. */
export function loadOutboxMigrations(dir: string = OUTBOX_MIGRATIONS_DIR, tables: OutboxTables = {}): OutboxMigration[] {
  return loadNumberedMigrations(dir, 'Outbox migration', outboxMigrationPlaceholders(outboxTables(tables, 'loadOutboxMigrations()')));
}

/**
 * Applies the outbox migrations that are missing, in `schema` (created if missing) with the table names of
 * `{ schema, table }`. `executor` must be ONE connection outside any transaction (a pg.Client, a pool client,
 * `pgExecutor(client)`): this opens and commits its own transaction. A pg.Pool (or `pgExecutor(pool)`) is
 * accepted too: one of its connections is checked out for the duration.
 */
export async function migrateOutbox(executor: SqlExecutor, opts: MigrateOutboxOptions = {}): Promise<OutboxMigrateResult> {
  const t = outboxTables(opts, 'migrateOutbox()');
  const set: MigrationSet = {
    dir: opts.dir ?? OUTBOX_MIGRATIONS_DIR,
    schema: t.schema,
    table: t.names.migrations,
    lockKey: LOCK_KEY,
    what: 'Outbox migration',
    placeholders: outboxMigrationPlaceholders(t),
  };
  const pool = poolBehind(executor);
  if (pool) {
    const client = await pool.connect();
    try {
      return await applyNumberedMigrations(client, set, opts.log);
    } finally {
      client.release();
    }
  }
  return applyNumberedMigrations(executor, set, opts.log);
}
