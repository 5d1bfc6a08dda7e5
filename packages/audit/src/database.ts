/**
 * The PostgreSQL side: connect (failing fast when unreachable), resolve the table and its columns through
 * the catalogue (so any schema, quoting or case works), and stream the rows with a cursor.
 */
import pg from 'pg';
import { DwError } from '@dual-write/config';
import { OPTION_FLAGS, redactUrl } from './options.ts';
import type { AnalyzerRow } from './analyzer.ts';

export interface ResolvedTable {
  /** schema.table, quoted for SQL. */
  sql: string;
  /** schema.table, for people. */
  name: string;
  idColumnSql: string;
  createdAtColumnSql: string;
  /** A plain or partitioned table (its rows carry the xmin of the transaction that wrote them); not a view. */
  hasRowVersions: boolean;
}

interface PgError {
  code?: string;
  message?: string;
}

function address(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}/${decodeURIComponent(u.pathname.slice(1))}`;
}

/** Connects with a short timeout; maps failures to DW_AUDIT_UNREACHABLE / DW_AUDIT_SOURCE_MISSING. */
export async function connectDatabase(url: string, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'dual-write-audit' });
  client.on('error', () => {}); // a dropped connection surfaces as a failed query instead
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    const e = err as PgError;
    const where = address(url);
    if (e.code === '3D000') {
      throw new DwError('DW_AUDIT_SOURCE_MISSING', `Database "${decodeURIComponent(new URL(url).pathname.slice(1))}" does not exist on ${where.split('/')[0]}.`, `Check ${OPTION_FLAGS.databaseUrl} (${redactUrl(url)}): the path names the database.`, { database: where }, { cause: err });
    }
    if (e.code === '28P01' || e.code === '28000') {
      throw new DwError('DW_AUDIT_UNREACHABLE', `PostgreSQL at ${where} refused the login: ${e.message ?? e.code}.`, `Check the user and password in ${OPTION_FLAGS.databaseUrl} (${redactUrl(url)}).`, { database: where }, { cause: err });
    }
    throw new DwError('DW_AUDIT_UNREACHABLE', `Cannot reach PostgreSQL at ${where}: ${e.message ?? String(err)}.`, `Check ${OPTION_FLAGS.databaseUrl} (${redactUrl(url)}) and that PostgreSQL is running (npm run stack -- status).`, { database: where }, { cause: err });
  }
}

/** Finds the table (schema-qualified or on the search_path) and checks both columns exist. */
export async function resolveTable(client: pg.Client, table: string, idColumn: string, createdAtColumn: string): Promise<ResolvedTable> {
  let found: { oid: number; schema: string; name: string; kind: string } | undefined;
  try {
    const { rows } = await client.query<{ oid: number; schema: string; name: string; kind: string }>(
      `select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as kind
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.oid = to_regclass($1) and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
      [table],
    );
    found = rows[0];
  } catch (err) {
    throw new DwError('DW_CONFIG_INVALID', `Audit option table (${OPTION_FLAGS.table}) = ${JSON.stringify(table)} is not a table name: ${(err as PgError).message ?? String(err)}.`, `Pass ${OPTION_FLAGS.table} like orders or sales.orders.`, { option: 'table', value: table }, { cause: err });
  }
  if (!found) {
    const { rows } = await client.query<{ t: string }>(
      `select table_schema || '.' || table_name as t from information_schema.tables
        where table_schema not in ('pg_catalog', 'information_schema') order by (table_schema = 'public') desc, 1 limit 12`,
    );
    const db = `${client.database ?? '?'}`;
    throw new DwError(
      'DW_AUDIT_SOURCE_MISSING',
      `Table "${table}" does not exist in database "${db}".`,
      rows.length
        ? `Check ${OPTION_FLAGS.table} (schema-qualify it, e.g. sales.orders, if it is not on the search_path). Tables in "${db}": ${rows.map((r) => r.t).join(', ')}.`
        : `Database "${db}" has no tables: is ${OPTION_FLAGS.databaseUrl} pointing at the right database, and were its migrations applied?`,
      { table, database: db },
    );
  }
  const { rows: columns } = await client.query<{ name: string; type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as type
       from pg_attribute where attrelid = $1 and attnum > 0 and not attisdropped order by attnum`,
    [found.oid],
  );
  const tableName = `${found.schema}.${found.name}`;
  const pick = (option: 'idColumn' | 'createdAtColumn', wanted: string) => {
    const col = columns.find((c) => c.name === wanted) ?? columns.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
    if (!col) {
      throw new DwError('DW_AUDIT_SOURCE_MISSING', `Column "${wanted}" (${option}) does not exist in table ${tableName}.`, `Pass ${OPTION_FLAGS[option]} with one of ${tableName}'s columns: ${columns.map((c) => c.name).join(', ')}.`, { table: tableName, column: wanted });
    }
    return col;
  };
  const id = pick('idColumn', idColumn);
  const createdAt = pick('createdAtColumn', createdAtColumn);
  if (!/^(timestamp|date)/.test(createdAt.type)) {
    const candidates = columns.filter((c) => /^(timestamp|date)/.test(c.type)).map((c) => c.name);
    throw new DwError('DW_CONFIG_INVALID', `Audit option createdAtColumn (${OPTION_FLAGS.createdAtColumn}) = "${createdAt.name}" is a ${createdAt.type} column, not a timestamp.`, candidates.length ? `Pass ${OPTION_FLAGS.createdAtColumn} with a timestamp column of ${tableName}: ${candidates.join(', ')}.` : `${tableName} has no timestamp column; the black-hole grace period needs one.`, { option: 'createdAtColumn', value: createdAt.name });
  }
  const q = (s: string) => client.escapeIdentifier(s);
  return { sql: `${q(found.schema)}.${q(found.name)}`, name: tableName, idColumnSql: q(id.name), createdAtColumnSql: q(createdAt.name), hasRowVersions: found.kind === 'r' || found.kind === 'p' };
}

/**
 * Whether the rows' commit times can be read: PostgreSQL records them only with track_commit_timestamp = on
 * (a restart setting), and only a table's rows carry the writing transaction (xmin). Undefined when they can.
 */
export async function commitTimesUnavailable(client: pg.Client, table: ResolvedTable): Promise<string | undefined> {
  const { rows } = await client.query<{ on: string }>(`select current_setting('track_commit_timestamp') as on`);
  if (rows[0]?.on !== 'on') return 'the database does not record commit times: set track_commit_timestamp = on (postgresql.conf, then restart)';
  if (!table.hasRowVersions) return `${table.name} is not a table (a view has no commit time per row)`;
  return undefined;
}

/** The database's clock now, minus the grace period: rows created before it must have a message. */
export async function graceCutoff(client: pg.Client, graceMs: number): Promise<Date> {
  const { rows } = await client.query<{ cutoff: Date }>(`select clock_timestamp() - ($1::double precision * interval '1 millisecond') as cutoff`, [graceMs]);
  return rows[0]!.cutoff;
}

/**
 * Streams every row (id as text, created-at, past the cutoff or not, and with `commitTimes` when its transaction
 * committed) in batches, in one read-only snapshot.
 */
export async function readRows(client: pg.Client, table: ResolvedTable, cutoff: Date, onRow: (row: AnalyzerRow) => void, onBatch: (rowsSoFar: number) => void, commitTimes = false, batchSize = 10_000): Promise<number> {
  let total = 0;
  await client.query('begin isolation level repeatable read read only');
  try {
    await client.query(
      `declare dw_audit_rows no scroll cursor for
         select ${table.idColumnSql}::text as id,
                ${table.createdAtColumnSql}::timestamptz as created_at,
                (${table.createdAtColumnSql} is null or ${table.createdAtColumnSql}::timestamptz < $1::timestamptz) as past_grace,
                ${commitTimes ? 'extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000' : 'null'}::double precision as committed_ms
           from ${table.sql}
          where ${table.idColumnSql} is not null`,
      [cutoff],
    );
    for (;;) {
      const { rows } = await client.query<{ id: string; created_at: Date | null; past_grace: boolean; committed_ms: number | null }>(`fetch forward ${batchSize} from dw_audit_rows`);
      for (const r of rows) onRow({ id: r.id, createdAt: r.created_at ? r.created_at.toISOString() : null, pastGrace: r.past_grace, committedAtMs: r.committed_ms });
      total += rows.length;
      if (rows.length) onBatch(total);
      if (rows.length < batchSize) break;
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
  return total;
}
