/**
 * The lab's numbered SQL migrations (migrations/000001_name.sql …), applied in order, each once, tracked in
 * `dw_migrations`. The machinery (advisory lock in one transaction, so concurrent migrators are safe; checksums,
 * so a released migration cannot change) is the outbox library's `applyNumberedMigrations`.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import {
  applyNumberedMigrations,
  loadNumberedMigrations,
  migrateOutbox,
  pgExecutor,
  type MigrateResult,
  type NumberedMigration,
} from '@dual-write/outbox';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const LOCK_KEY = 74_110_002;

export type Migration = NumberedMigration;
export type { MigrateResult };

/** Anything with pg's `query(text, values)`: a pg.Client or a pool client. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** Reads `000001_name.sql` files from a folder, checked for gaps and duplicates. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return loadNumberedMigrations(dir);
}

export async function migrate(client: Queryable, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrateResult> {
  return applyNumberedMigrations(pgExecutor(client as pg.ClientBase), { dir: opts.dir ?? MIGRATIONS_DIR, table: 'dw_migrations', lockKey: LOCK_KEY, what: 'Migration' }, opts.log);
}

/**
 * Everything the lab's services need: this package's migrations, then the outbox library's own
 * (outbox, dead letters, inbox — tracked in their own table, so the library stays usable on its own).
 */
export async function migrateLab(client: Queryable, opts: { log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const result = await migrate(client, opts);
  const outbox = await migrateOutbox(pgExecutor(client as pg.ClientBase), opts);
  return { applied: [...result.applied, ...outbox.applied.map((a) => `outbox/${a}`)], alreadyApplied: result.alreadyApplied + outbox.alreadyApplied };
}
