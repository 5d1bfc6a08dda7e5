/**
 * The dashboard's own numbered migrations (migrations/000001_dashboard_actions.sql …): its audit table, next to
 * the outbox in the outbox's schema, tracked in `<table>_dashboard_migrations` with the outbox package's migrator
 * (applyNumberedMigrations: one transaction behind an advisory lock, checksums, never-edited files).
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { applyNumberedMigrations, outboxTables, pgExecutor, type MigrateResult, type OutboxTables, type SqlExecutor } from '@dual-write/outbox';

export const DASHBOARD_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** pg_advisory_xact_lock key held while migrating (the outbox uses 74_110_003). */
const LOCK_KEY = 74_110_020;

/** Names of the dashboard's objects for an outbox `{ schema, table }`. */
export function dashboardTables(tables: OutboxTables = {}) {
  const t = outboxTables(tables, 'migrateDashboard()');
  const actions = `${t.table}_dashboard_actions`;
  return {
    schema: t.schema,
    actionsName: actions,
    actions: `"${t.schema}"."${actions}"`,
    migrations: `${t.table}_dashboard_migrations`,
    actionsAtIndex: `${actions}_at_idx`,
  };
}

/**
 * Applies the dashboard's missing migrations. `db`: a pg.Pool (one connection is checked out), a pg.Client,
 * or an executor on ONE connection outside any transaction.
 */
export async function migrateDashboard(db: pg.Pool | pg.ClientBase | SqlExecutor, opts: OutboxTables & { log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const d = dashboardTables(opts);
  const placeholders = {
    DASHBOARD_ACTIONS: { value: d.actions, checksumAs: 'public.outbox_dashboard_actions' },
    DASHBOARD_ACTIONS_AT_INDEX: { value: `"${d.actionsAtIndex}"`, checksumAs: 'outbox_dashboard_actions_at_idx' },
  };
  const set = { dir: DASHBOARD_MIGRATIONS_DIR, schema: d.schema, table: d.migrations, lockKey: LOCK_KEY, what: 'Dashboard migration', placeholders };
  if (db instanceof pg.Pool) {
    const client = await db.connect();
    try {
      return await applyNumberedMigrations(pgExecutor(client), set, opts.log);
    } finally {
      client.release();
    }
  }
  const executor = db instanceof pg.Client || 'release' in db ? pgExecutor(db as pg.ClientBase) : (db as SqlExecutor);
  return applyNumberedMigrations(executor, set, opts.log);
}
