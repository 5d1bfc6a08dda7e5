/**
 * What the dashboard reads, each a few cheap statements. At a million outbox rows nothing here scans the table
 * on a refresh: counts are bounded (`count(*)` over at most `exactCountLimit + 1` rows) only when the planner's
 * estimate says the table is small, otherwise the planner's estimate is shown (≈); the oldest row comes from the
 * unique index on `position`; parked keys from the partial index on failing rows and the dead letters; lists are
 * keyset-paginated.
 */
import type pg from 'pg';
import { relayLockSpace } from '@dual-write/relay';
import type { ResolvedOutboxTables } from '@dual-write/outbox';
import { DashboardError } from './errors.ts';

export interface RowCount {
  rows: number;
  /** true: counted; false: the planner's estimate (shown as ≈). */
  exact: boolean;
  method: 'count' | 'planner-estimate';
}

export async function plannerEstimate(pool: pg.Pool, qualified: string): Promise<number> {
  const { rows } = await pool.query(`explain (format json) select 1 from ${qualified}`);
  const plan = (rows[0] as { 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] })['QUERY PLAN'][0]!.Plan;
  return Math.round(plan['Plan Rows']);
}

/** Exact below `limit` rows (a bounded count), else the planner's estimate. */
export async function countRows(pool: pg.Pool, qualified: string, limit: number): Promise<RowCount> {
  const estimate = await plannerEstimate(pool, qualified);
  if (estimate <= limit * 2) {
    const { rows } = await pool.query(`select count(*)::int as n from (select 1 from ${qualified} limit ${limit + 1}) s`);
    const n = (rows[0] as { n: number }).n;
    if (n <= limit) return { rows: n, exact: true, method: 'count' };
  }
  return { rows: Math.max(estimate, limit + 1), exact: false, method: 'planner-estimate' };
}

export interface Snapshot {
  at: number;
  backlog: RowCount;
  oldestAgeSeconds: number;
  oldestPosition: string | null;
  deadLetters: RowCount;
  parkedKeys: number;
  /** The outbox's position sequence: how many rows were ever inserted. */
  lastPosition: number;
}

export class Queries {
  private sequence: string | undefined | null;

  constructor(private readonly pool: pg.Pool, private readonly t: ResolvedOutboxTables, private readonly exactCountLimit: number) {}

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DashboardError) throw err;
      const e = err as { code?: string; message?: string };
      const missing = e.code === '42P01';
      throw new DashboardError(
        'DW_DASHBOARD_DATABASE',
        `${what} failed: ${e.message ?? String(err)}`,
        missing ? `Migrate the outbox first (migrateOutbox(client, { schema: '${this.t.schema}', table: '${this.t.table}' })), and give the dashboard the same schema and table.` : 'Check that the database is reachable with the URL or pool given to createDashboard().',
        { status: 503, cause: err },
      );
    }
  }

  async snapshot(): Promise<Snapshot> {
    return this.wrap('Reading the outbox summary', async () => {
      const t = this.t;
      if (this.sequence === undefined) {
        const { rows } = await this.pool.query(`select pg_get_serial_sequence($1, 'position') as s`, [`${t.outbox}`]);
        this.sequence = (rows[0] as { s: string | null }).s;
      }
      const [backlog, deadLetters, head] = await Promise.all([
        countRows(this.pool, t.outbox, this.exactCountLimit),
        countRows(this.pool, t.deadLetters, this.exactCountLimit),
        this.pool.query(`
          select (select extract(epoch from now() - created_at)::float8 from ${t.outbox} order by position limit 1) as oldest,
                 (select position::text from ${t.outbox} order by position limit 1) as oldest_position,
                 (select count(*)::int from (select aggregatetype, aggregateid from ${t.outbox} where next_attempt_at > now()
                                             union select aggregatetype, aggregateid from ${t.deadLetters}) k) as parked
                 ${this.sequence ? `, (select case when is_called then last_value else 0 end from ${this.sequence}) as last_position` : ''}`),
      ]);
      const r = head.rows[0] as { oldest: number | null; oldest_position: string | null; parked: number; last_position?: string };
      return {
        at: Date.now(),
        backlog,
        oldestAgeSeconds: Math.max(0, r.oldest ?? 0),
        oldestPosition: r.oldest_position,
        deadLetters,
        parkedKeys: r.parked,
        lastPosition: Number(r.last_position ?? 0),
      };
    });
  }

  /** Rows per aggregate type: counted when the table is small, else the planner's statistics (pg_stats) × its estimate. */
  async perAggregateType(backlog: RowCount): Promise<{ method: 'count' | 'statistics' | 'none'; types: { aggregatetype: string; rows: number }[] }> {
    return this.wrap('Counting rows per aggregate type', async () => {
      if (backlog.exact) {
        const { rows } = await this.pool.query(`select aggregatetype, count(*)::int as rows from ${this.t.outbox} group by 1 order by 2 desc, 1 limit 100`);
        return { method: 'count', types: rows as { aggregatetype: string; rows: number }[] };
      }
      const { rows } = await this.pool.query(
        `select most_common_vals::text::text[] as vals, most_common_freqs as freqs from pg_stats where schemaname = $1 and tablename = $2 and attname = 'aggregatetype'`,
        [this.t.schema, this.t.names.outbox],
      );
      const s = rows[0] as { vals: string[] | null; freqs: number[] | null } | undefined;
      if (!s?.vals || !s.freqs) return { method: 'none', types: [] };
      return { method: 'statistics', types: s.vals.map((v, i) => ({ aggregatetype: v, rows: Math.round(s.freqs![i]! * backlog.rows) })) };
    });
  }

  /** The relays of this outbox as PostgreSQL sees them: member and slot advisory locks, their sessions' activity. */
  async relayInstances(): Promise<{ slotCount: number | null; instances: RelayInstanceRow[]; unownedSlots: number[] | null }> {
    return this.wrap('Reading the relay locks', async () => {
      const space = relayLockSpace(this.t);
      const { rows } = await this.pool.query(
        `select l.pid, l.classid::bigint::int as class, l.objid::bigint::int as obj, l.mode,
                a.application_name, a.backend_start, a.state_change, a.state, host(a.client_addr) as client_addr,
                extract(epoch from now() - a.state_change)::float8 as silent_seconds
         from pg_locks l left join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and l.objsubid = 2
           and l.database = (select oid from pg_database where datname = current_database())
           and l.classid::bigint in ($1, $2)
         order by l.pid, l.objid`,
        [space.slotClass, space.memberClass],
      );
      const byPid = new Map<number, RelayInstanceRow>();
      let slotCount: number | null = null;
      for (const r of rows as { pid: number; class: number; obj: number; application_name: string | null; backend_start: Date | null; state_change: Date | null; state: string | null; client_addr: string | null; silent_seconds: number | null }[]) {
        let inst = byPid.get(r.pid);
        if (!inst) {
          const app = r.application_name ?? '';
          inst = {
            pid: r.pid,
            instanceId: app.startsWith('outbox-relay-session:') ? app.slice('outbox-relay-session:'.length) : app || `pid ${r.pid}`,
            applicationName: app,
            clientAddr: r.client_addr,
            sessionStartedAt: r.backend_start?.toISOString() ?? null,
            lastActivityAt: r.state_change?.toISOString() ?? null,
            silentSeconds: r.silent_seconds,
            member: false,
            slots: [],
          };
          byPid.set(r.pid, inst);
        }
        if (r.class === space.memberClass) {
          inst.member = true;
          slotCount = r.obj;
        } else inst.slots.push(r.obj);
      }
      const instances = [...byPid.values()];
      const owned = new Set(instances.flatMap((i) => i.slots));
      const unownedSlots = slotCount === null ? null : Array.from({ length: slotCount }, (_, i) => i).filter((s) => !owned.has(s));
      return { slotCount, instances, unownedSlots };
    });
  }

  /** Parked keys, each with what blocks it: its (first) dead letter, or a message in backoff. Keyset by (aggregatetype, aggregateid). */
  async parkedKeys(after: [string, string] | undefined, limit: number, countWaiting: boolean): Promise<{ items: ParkedKey[]; next: [string, string] | null }> {
    return this.wrap('Listing parked keys', async () => {
      const t = this.t;
      const { rows } = await this.pool.query(
        `select distinct on (aggregatetype, aggregateid) aggregatetype, aggregateid, reason, blocker_id, error, attempts, failed_at, next_attempt_at, position
         from (
           select aggregatetype, aggregateid, 'dead-letter' as reason, 0 as rank, id::text as blocker_id, error, attempts, failed_at, null::timestamptz as next_attempt_at, position::text as position, position as pos
           from ${t.deadLetters}
           union all
           select aggregatetype, aggregateid, 'backoff', 1, id::text, last_error, attempts, null, next_attempt_at, position::text, position
           from ${t.outbox} where next_attempt_at > now()
         ) k
         where ($1::text is null or (aggregatetype, aggregateid) > ($1, $2))
         order by aggregatetype, aggregateid, rank, pos
         limit $3`,
        [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      const page = (rows as Omit<ParkedKey, 'waiting'>[]).slice(0, limit);
      let waiting = new Map<string, number>();
      if (countWaiting && page.length) {
        const w = await this.pool.query(
          `select o.aggregatetype, o.aggregateid, count(*)::int as n from ${t.outbox} o
           join unnest($1::text[], $2::text[]) k(t, i) on o.aggregatetype = k.t and o.aggregateid = k.i group by 1, 2`,
          [page.map((p) => p.aggregatetype), page.map((p) => p.aggregateid)],
        );
        waiting = new Map((w.rows as { aggregatetype: string; aggregateid: string; n: number }[]).map((r) => [`${r.aggregatetype}\u0000${r.aggregateid}`, r.n]));
      }
      const items = page.map((p) => ({ ...p, waiting: countWaiting ? (waiting.get(`${p.aggregatetype}\u0000${p.aggregateid}`) ?? 0) : null }));
      const last = page.at(-1);
      return { items, next: rows.length > limit && last ? [last.aggregatetype, last.aggregateid] : null };
    });
  }

  /** Dead letters matching `q` (key, type, aggregate type, error text or id), oldest failure first. Keyset by (failed_at, id). */
  async deadLetters(q: string | undefined, after: [string, string] | undefined, limit: number): Promise<{ items: DeadLetterRow[]; next: [string, string] | null }> {
    return this.wrap('Listing dead letters', async () => {
      const like = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
      const { rows } = await this.pool.query(
        `select id, aggregatetype, aggregateid, type, error, attempts, position::text as position, created_at, failed_at,
                to_char(failed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at,
                octet_length(payload::text) as payload_bytes, left(payload::text, 160) as payload_preview
         from ${this.t.deadLetters}
         where ($1::text is null or aggregateid ilike $1 or type ilike $1 or aggregatetype ilike $1 or error ilike $1 or id::text = $4)
           and ($2::timestamptz is null or (failed_at, id) > ($2::timestamptz, $3::uuid))
         order by failed_at, id
         limit $5`,
        [like, after?.[0] ?? null, after?.[1] ?? null, q ?? null, limit + 1],
      );
      const page = (rows as (DeadLetterRow & { cursor_at: string })[]).slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(({ cursor_at: _c, ...r }) => r), next: rows.length > limit && last ? [last.cursor_at, last.id] : null };
    });
  }

  async deadLetter(id: string): Promise<Record<string, unknown> | undefined> {
    return this.wrap('Reading a dead letter', async () => {
      const { rows } = await this.pool.query(
        `select id, aggregatetype, aggregateid, type, payload, headers, created_at, position::text as position, transaction_id::text as transaction_id, attempts, error, failed_at
         from ${this.t.deadLetters} where id = $1`,
        [id],
      );
      return rows[0] as Record<string, unknown> | undefined;
    });
  }
}

export interface RelayInstanceRow {
  pid: number;
  instanceId: string;
  applicationName: string;
  clientAddr: string | null;
  sessionStartedAt: string | null;
  /** pg_stat_activity.state_change of its coordination session: the lease is renewed by a statement every leaseMs / 5. */
  lastActivityAt: string | null;
  silentSeconds: number | null;
  member: boolean;
  slots: number[];
}

export interface ParkedKey {
  aggregatetype: string;
  aggregateid: string;
  reason: 'dead-letter' | 'backoff';
  blocker_id: string;
  error: string | null;
  attempts: number;
  failed_at: string | null;
  next_attempt_at: string | null;
  position: string;
  /** Rows of this key in the outbox; null when the outbox is above exactCountLimit (not counted). */
  waiting: number | null;
}

export interface DeadLetterRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  error: string;
  attempts: number;
  position: string;
  created_at: string;
  failed_at: string;
  payload_bytes: number;
  payload_preview: string;
}
