/**
 * The outbox's own numbered migrations (migrations/000001_outbox.sql …), tracked in `outbox_migrations`,
 * separate from the application's, so the library can be adopted by any schema.
 *
 * Safe when several processes migrate at once: everything runs in one transaction that first takes an
 * advisory lock, so a second migrator waits and then finds nothing left to do. A released migration must not
 * change: its checksum is recorded, and a changed file is an error.
 */
import { fileURLToPath } from 'node:url';
import { poolBehind } from './adapters/pg.ts';
import { applyNumberedMigrations, loadNumberedMigrations, type MigrateResult, type NumberedMigration } from './numbered-migrations.ts';
import type { SqlExecutor } from './types.ts';

export const OUTBOX_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** pg_advisory_xact_lock key held while migrating (the schema package uses 74_110_002). */
const LOCK_KEY = 74_110_003;

export type OutboxMigration = NumberedMigration;
export type OutboxMigrateResult = MigrateResult;

/** Reads the outbox's `000001_name.sql` files, checked for gaps and duplicates. */
export function loadOutboxMigrations(dir: string = OUTBOX_MIGRATIONS_DIR): OutboxMigration[] {
  return loadNumberedMigrations(dir, 'Outbox migration');
}

/**
 * Applies the outbox migrations that are missing. `executor` must be ONE connection outside any transaction
 * (a pg.Client, a pool client, `pgExecutor(client)`): this opens and commits its own transaction. A pg.Pool
 * (or `pgExecutor(pool)`) is accepted too: one of its connections is checked out for the duration.
 */
export async function migrateOutbox(executor: SqlExecutor, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<OutboxMigrateResult> {
  const set = { dir: opts.dir ?? OUTBOX_MIGRATIONS_DIR, table: 'outbox_migrations', lockKey: LOCK_KEY, what: 'Outbox migration' };
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
