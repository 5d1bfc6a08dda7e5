/**
 * The relay's SQL. Every statement autocommits on the relay's own small pool: the relay never holds a
 * transaction open, least of all while it waits on Kafka. Tables are named schema-qualified and quoted, from the
 * relay's schema and table options (`tables`), never through the search_path.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { keyLockBucketSql, type OutboxRow, type ResolvedOutboxTables } from '@dual-write/outbox';
import type { ResolvedRelayOptions } from '../../options.ts';
import type { Blocker, CoordinatorEvents, Failure, OutboxStats, RelayCoordinator, RelayStore, SeamContext } from '../../seams.ts';
import { RelaySession, relayLockSpace } from './relay-session.ts';
import { serverIdentity } from './session-check.ts';

/** A row's slot: which relay instance may publish it. The same expression everywhere (SQL and docs). */
export const SLOT_SQL = '(abs(hashtext(o.aggregateid)::bigint) % $1)::int';

const OUR_DB = '(select oid from pg_database where datname = current_database())';

// The key buckets an open transaction of this database holds (migration 000002: every writer takes
// pg_advisory_xact_lock_shared(keyLockClass, bucket) per row until it ends). Read in a statement of its own
// BEFORE the rows, so a writer that held a bucket when this ran is still counted even if it commits before
// the read of the rows takes its snapshot.
const lockedBucketsSql = `
select coalesce(array_agg(distinct objid::int), '{}') as buckets from pg_locks
where locktype = 'advisory' and database = ${OUR_DB} and classid::bigint = $1 and objsubid = 2 and granted`;

// Committed rows (the snapshot sees nothing else) of my slots whose key bucket no open transaction holds, in
// position order: for writers that serialise on the aggregate that is commit order, and an open transaction
// holds back only the rows of its own buckets — other keys, other databases and sessions that never wrote the
// outbox hold back nothing. Rows of a key that is parked — behind a message in backoff, or behind a dead letter
// — are left out in SQL, so a parked key never fills the batch and starves the others.
const fetchSql = (t: ResolvedOutboxTables) => `
select o.id, o.aggregatetype, o.aggregateid, o.type, null::jsonb as payload, o.payload::text as payload_text, o.headers, o.created_at,
       o.position::text as position, o.transaction_id::text as transaction_id, o.attempts, o.last_error, o.next_attempt_at
from ${t.outbox} o
where ${SLOT_SQL} = any($2::int[])
  and ${keyLockBucketSql('o')} <> all($4::int[])
  and not exists (
    select 1 from ${t.outbox} p
    where p.next_attempt_at > now() and p.aggregatetype = o.aggregatetype and p.aggregateid = o.aggregateid
      and p.position <= o.position)
  and not exists (select 1 from ${t.deadLetters} d where d.aggregatetype = o.aggregatetype and d.aggregateid = o.aggregateid)
  and not $5::int8multirange @> o.position
order by o.position
limit $3`;

/**
 * Positions as an int8multirange literal (runs of consecutive positions become one range): the rows a read must
 * skip, tested per row in O(log runs) — a batch read in position order is mostly a handful of runs.
 */
export function positionRuns(positions: ReadonlySet<string> | undefined): string {
  if (!positions || positions.size === 0) return '{}';
  // Positions come from a bigserial: numbers while below 2^53 (centuries at a million rows a second), and sorting
  // numbers is several times faster than BigInts.
  const numbers = [...positions].map(Number);
  const sorted: (number | bigint)[] = numbers.every(Number.isSafeInteger)
    ? numbers.sort((a, b) => a - b)
    : [...positions].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const after = (p: number | bigint) => (typeof p === 'bigint' ? p + 1n : p + 1);
  const runs: string[] = [];
  let start = sorted[0]!;
  let end = start;
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (p === after(end)) {
      end = p;
      continue;
    }
    runs.push(`[${start},${after(end)})`);
    start = end = p;
  }
  runs.push(`[${start},${after(end)})`);
  return `{${runs.join(',')}}`;
}

// Who holds back committed rows of my slots: the open transactions holding their buckets.
// The locked buckets are joined (a hash join), not tested with = any(array) per row: a transaction holding many
// buckets (up to all 1024) would otherwise cost every held row a scan of the whole array. "held" is MATERIALIZED:
// the planner estimates pg_locks at one row and, inlined, ran the scan of the outbox once per lock (measured: 117 s
// with 100 000 rows behind a transaction holding all 1024 buckets, 0.11 s materialized).
export const blockersSql = (t: ResolvedOutboxTables, held: 'materialized' | 'inlined' = 'materialized') => `
with locked as (select distinct unnest($3::int[]) as bucket),
held as ${held === 'materialized' ? 'materialized' : 'not materialized'} (
  select k.bucket, count(*) as n from ${t.outbox} o
  join locked k on k.bucket = ${keyLockBucketSql('o')}
  where ${SLOT_SQL} = any($2::int[])
  group by 1
)
select l.pid, a.datname as database, a.application_name, sum(h.n)::int as rows,
       coalesce(extract(epoch from now() - a.xact_start), 0)::float8 as transaction_age_seconds
from pg_locks l
join held h on h.bucket = l.objid::int
left join pg_stat_activity a on a.pid = l.pid
where l.locktype = 'advisory' and l.database = ${OUR_DB} and l.classid::bigint = $4 and l.objsubid = 2 and l.granted
group by l.pid, a.datname, a.application_name, a.xact_start
order by transaction_age_seconds desc`;

/** The PostgreSQL store (the default): a small pool of its own for the statements, a RelaySession for coordination. */
export function postgresStore(ctx: SeamContext): RelayStore {
  const { options: o, log } = ctx;
  const pool = new pg.Pool({
    connectionString: o.database,
    max: o.poolMax,
    application_name: `outbox-relay:${o.instanceId}`.slice(0, 63),
    connectionTimeoutMillis: o.connectTimeoutMs,
    keepAlive: true,
    // Client-side, not the statement_timeout startup parameter: poolers refuse startup parameters they do not
    // track (PgBouncer: "unsupported startup parameter: statement_timeout"), and this also ends a hung network.
    query_timeout: 60_000,
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'an idle relay database connection failed'));
  return new PostgresOutboxStore(pool, o, log);
}

export class PostgresOutboxStore implements RelayStore {
  private readonly fetchSql: string;
  private readonly deleteSql: string;
  private readonly tables: ResolvedOutboxTables;
  private readonly slotClass: number;
  private session: RelaySession | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: Pick<ResolvedRelayOptions, 'database' | 'coordinationUrl' | 'slots' | 'instanceId' | 'connectTimeoutMs' | 'listen' | 'tables' | 'leaseMs'>,
    private readonly log: Logger,
  ) {
    this.tables = options.tables;
    this.slotClass = relayLockSpace(options.tables).slotClass;
    this.fetchSql = fetchSql(options.tables);
    this.deleteSql = `delete from ${this.tables.outbox} o using (select set_config('synchronous_commit', 'off', true)) async_commit
      where o.position = any($1::bigint[])
        and (abs(hashtext(o.aggregateid)::bigint) % $2)::int = any(array(
          select objid::int from pg_locks where locktype = 'advisory' and database = ${OUR_DB}
            and classid::bigint = $3 and objsubid = 2 and granted and pid = $4))`;
  }

  async ping(): Promise<void> {
    await this.pool.query('select 1');
  }

  coordinator(events: CoordinatorEvents): RelayCoordinator {
    const o = this.options;
    // The session's locks and LISTEN need a real session: RELAY_COORDINATION_URL when DATABASE_URL is pooled.
    const coordinationGiven = o.coordinationUrl !== undefined;
    this.session = new RelaySession(
      {
        url: o.coordinationUrl ?? o.database, slots: o.slots, instanceId: o.instanceId, connectTimeoutMs: o.connectTimeoutMs, log: this.log, listen: o.listen, tables: o.tables, leaseMs: o.leaseMs,
        coordinationGiven,
        poolServer: coordinationGiven ? () => serverIdentity(this.pool) : undefined,
      },
      events,
    );
    return this.session;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  async tablesExist(): Promise<boolean> {
    const { rows } = await this.pool.query<{ ok: boolean }>(
      'select to_regclass($1) is not null and to_regclass($2) is not null as ok',
      [this.tables.outbox, this.tables.deadLetters],
    );
    return rows[0]?.ok === true;
  }

  async fetchBatch(slots: number, owned: readonly number[], limit: number, exclude?: ReadonlySet<string>): Promise<OutboxRow[]> {
    if (owned.length === 0) return [];
    const locked = await this.lockedBuckets();
    const { rows } = await this.pool.query<OutboxRow>(this.statement('fetch', this.fetchSql, [slots, owned, limit, locked, positionRuns(exclude)]));
    return rows;
  }

  /**
   * A named (prepared once per connection, planned without re-parsing) statement — unless DATABASE_URL goes
   * through a transaction pooler (RELAY_COORDINATION_URL given), where a statement prepared on one server
   * connection is unknown on the next.
   */
  private statement(name: string, text: string, values: unknown[]): pg.QueryConfig {
    return this.options.coordinationUrl === undefined ? { name: `outbox-relay-${name}`, text, values } : { text, values };
  }

  /**
   * Rows of these slots that are committed and not parked, whatever their transaction id: what is left to
   * publish. Rows above the snapshot's xmin (behind a transaction still open) count — they are not published
   * yet, only later.
   */
  async countUnpublished(slots: number, owned: readonly number[]): Promise<number> {
    if (owned.length === 0) return 0;
    const t = this.tables;
    const { rows } = await this.pool.query<{ n: number }>(
      `select count(*)::int as n from ${t.outbox} o
       where ${SLOT_SQL} = any($2::int[])
         and not exists (select 1 from ${t.outbox} p where p.next_attempt_at > now() and p.aggregatetype = o.aggregatetype
                         and p.aggregateid = o.aggregateid and p.position <= o.position)
         and not exists (select 1 from ${t.deadLetters} d where d.aggregatetype = o.aggregatetype and d.aggregateid = o.aggregateid)`,
      [slots, owned],
    );
    return rows[0]!.n;
  }

  private async lockedBuckets(): Promise<number[]> {
    const { rows } = await this.pool.query<{ buckets: number[] }>(this.statement('locked', lockedBucketsSql, [this.tables.keyLockClass]));
    return rows[0]?.buckets ?? [];
  }

  async blockers(slots: number, owned: readonly number[]): Promise<Blocker[]> {
    if (owned.length === 0) return [];
    const locked = await this.lockedBuckets();
    if (locked.length === 0) return [];
    const { rows } = await this.pool.query<{ pid: number; database: string | null; application_name: string | null; rows: number; transaction_age_seconds: number }>(
      blockersSql(this.tables),
      [slots, owned, locked, this.tables.keyLockClass],
    );
    return rows.map((r) => ({ pid: r.pid, database: r.database ?? '', applicationName: r.application_name ?? '', rows: r.rows, transactionAgeSeconds: r.transaction_age_seconds }));
  }

  /**
   * Delete on publish: the table only holds what is not yet acknowledged by Kafka. Fenced: only rows of slots whose
   * lock this instance's session still holds are deleted, checked in the same statement — an instance that was
   * fenced off while stalled (its session terminated, its slots taken) deletes nothing.
   *
   * The delete commits with synchronous_commit off (set for its own transaction only, inside the statement, so it
   * holds through a transaction pooler too): it does not wait for its WAL to reach the disk. A crash of PostgreSQL
   * may lose the last deletes — their rows are then published again, which the consumers' inbox absorbs — and can
   * never lose a row nor its order: the writers' commits keep their own setting.
   */
  async deletePublished(rows: readonly OutboxRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const pid = this.session?.backendPid;
    if (pid === undefined) return 0;
    const r = await this.pool.query(this.statement('delete', this.deleteSql, [rows.map((r) => r.position), this.options.slots, this.slotClass, pid]));
    return r.rowCount ?? 0;
  }

  /** Kafka refused these messages: count the attempt and hold the row (and its key) back for `delayMs`. */
  async recordFailures(failures: readonly (Failure & { delayMs: number })[]): Promise<void> {
    if (failures.length === 0) return;
    await this.pool.query(
      `update ${this.tables.outbox} o set attempts = o.attempts + 1, last_error = f.error,
              next_attempt_at = now() + f.delay_ms * interval '1 millisecond'
       from unnest($1::bigint[], $2::text[], $3::int[]) as f(position, error, delay_ms)
       where o.position = f.position`,
      [failures.map((f) => f.row.position), failures.map((f) => f.error), failures.map((f) => f.delayMs)],
    );
  }

  /** Moves rows to the dead letters (`<table>_dead_letters`) in one statement (atomic: a row is in exactly one of the two tables). */
  async moveToDeadLetters(failures: readonly Failure[]): Promise<void> {
    if (failures.length === 0) return;
    await this.pool.query(
      `with moved as (
         delete from ${this.tables.outbox} o using unnest($1::bigint[], $2::text[]) as f(position, error)
         where o.position = f.position
         returning o.*, f.error
       )
       insert into ${this.tables.deadLetters} (id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, attempts, error)
       select id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, attempts + 1, error from moved`,
      [failures.map((f) => f.row.position), failures.map((f) => f.error)],
    );
  }

  /** Figures for the gauges (whole outbox, all instances). */
  async stats(): Promise<OutboxStats> {
    const t = this.tables;
    const { rows } = await this.pool.query<{ backlog: string; oldest: number | null; parked: string; dead: string }>(`
      select (select count(*) from ${t.outbox}) as backlog,
             (select extract(epoch from now() - created_at)::float8 from ${t.outbox} order by transaction_id, position limit 1) as oldest,
             (select count(*) from (select aggregatetype, aggregateid from ${t.outbox} where next_attempt_at > now()
                                    union select aggregatetype, aggregateid from ${t.deadLetters}) k) as parked,
             (select count(*) from ${t.deadLetters}) as dead`);
    const r = rows[0]!;
    return { backlog: Number(r.backlog), oldestAgeSeconds: Math.max(0, r.oldest ?? 0), parkedKeys: Number(r.parked), deadLetters: Number(r.dead) };
  }
}
