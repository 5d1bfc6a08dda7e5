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
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OutboxError } from './errors.ts';
import { poolBehind } from './adapters/pg.ts';
import { applyNumberedMigrations, loadNumberedMigrations, substitutedSql, type MigrateResult, type MigrationSet, type NumberedMigration } from './numbered-migrations.ts';
import { outboxMigrationPlaceholders, outboxTables, type OutboxTables, type ResolvedOutboxTables } from './tables.ts';
import type { SqlExecutor } from './types.ts';

export const OUTBOX_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** What adoptExistingTable runs in place of 000001 (see the file). */
const ADOPT_DEBEZIUM_SQL = fileURLToPath(new URL('../migrations/adopt/000001_from_debezium.sql', import.meta.url));
/** pg_advisory_xact_lock key held while migrating (the schema package uses 74_110_002). Shared by every schema. */
const LOCK_KEY = 74_110_003;

export type OutboxMigration = NumberedMigration;
export type OutboxMigrateResult = MigrateResult;

export interface MigrateOutboxOptions extends OutboxTables {
  /** Folder of the migration files (default: the package's migrations/). */
  dir?: string;
  log?: (line: string) => void;
  /**
   * The outbox table already exists with Debezium's layout (id uuid, aggregatetype, aggregateid, type, payload
   * jsonb), written by your writers and read by Debezium: add the relay's columns (with defaults, so the writers
   * need no change), indexes, trigger, dead letters and inbox to it in place of migration 000001. Without it, an
   * existing table that the outbox migrations did not create is refused with DW_OUTBOX_INVALID_OPTION.
   */
  adoptExistingTable?: boolean;
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
  const db = pool ? await pool.connect() : executor;
  try {
    const insteadOf = await adoption(db, t, set, opts.adoptExistingTable === true);
    return await applyNumberedMigrations(db, insteadOf ? { ...set, insteadOf } : set, opts.log);
  } finally {
    if (pool) (db as unknown as { release(): void }).release();
  }
}

/**
 * An outbox table that migration 000001 did not create: adopted when asked (checked to have Debezium's column
 * types first), refused otherwise. Undefined when there is nothing to adopt.
 */
async function adoption(db: SqlExecutor, t: ResolvedOutboxTables, set: MigrationSet, adopt: boolean): Promise<Map<number, string> | undefined> {
  const tracking = `${t.schema}.${t.names.migrations}`;
  const { rows } = await db.query(
    `select to_regclass($1) is not null as table_exists,
            to_regclass($2) is not null as tracking_exists`,
    [`${t.schema}.${t.names.outbox}`, tracking],
  );
  const { table_exists: exists, tracking_exists: tracked } = rows[0] as { table_exists: boolean; tracking_exists: boolean };
  if (!exists) return undefined;
  if (tracked && (await db.query(`select 1 from ${t.migrations} where id = 1`)).rows.length > 0) return undefined;
  if (!adopt) {
    throw new OutboxError(
      'DW_OUTBOX_INVALID_OPTION',
      `The table ${t.outbox} exists, but the outbox migrations did not create it.`,
      'If it is a Debezium outbox table (id, aggregatetype, aggregateid, type, payload), adopt it: migrateOutbox(client, { adoptExistingTable: true }). Otherwise give the outbox another table name (the table option).',
      { table: t.outbox },
    );
  }
  const cols = await db.query(
    `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2`,
    [t.schema, t.names.outbox],
  );
  const types = new Map((cols.rows as { column_name: string; data_type: string }[]).map((c) => [c.column_name, c.data_type]));
  const want: [string, string[]][] = [
    ['id', ['uuid']],
    ['aggregatetype', ['text', 'character varying']],
    ['aggregateid', ['text', 'character varying']],
    ['type', ['text', 'character varying']],
    ['payload', ['jsonb']],
  ];
  const wrong = want.filter(([c, ok]) => !ok.includes(types.get(c) ?? 'missing')).map(([c, ok]) => `${c} is ${types.get(c) ?? 'missing'} (expected ${ok.join(' or ')})`);
  if (wrong.length) {
    throw new OutboxError(
      'DW_OUTBOX_INVALID_OPTION',
      `The table ${t.outbox} cannot be adopted: ${wrong.join('; ')}.`,
      'Adoption keeps your writers unchanged, so it does not convert columns: change them yourself first (e.g. alter column payload type jsonb using payload::jsonb), or keep Debezium on that table.',
      { table: t.outbox, wrong },
    );
  }
  return new Map([[1, substitutedSql(readFileSync(ADOPT_DEBEZIUM_SQL, 'utf8'), set.placeholders, ADOPT_DEBEZIUM_SQL)]]);
}
