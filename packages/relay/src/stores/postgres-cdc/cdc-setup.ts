/**
 * CDC mode's start-up: wal_level, the publication (created if missing: FOR TABLE <outbox> WITH (publish = 'insert')),
 * the logical replication slot (created if missing, pgoutput; a failover slot on PostgreSQL 17+), and the slot's
 * figures for the metrics. Every statement autocommits on the relay's small pool.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { RelayError } from '../../errors.ts';
import type { ResolvedRelayOptions } from '../../options.ts';
import { parseLsn } from './lsn.ts';

type SetupOptions = Pick<ResolvedRelayOptions, 'cdcSlot' | 'cdcPublication' | 'tables' | 'schema' | 'table'>;

const DUPLICATE_OBJECT = '42710';

export interface SlotState {
  confirmedLsn: bigint;
  active: boolean;
  activePid: number | null;
  walStatus: string | null;
}

function cdcUnusable(message: string, fix: string): RelayError {
  return new RelayError('DW_RELAY_INVALID_OPTION', `Relay option mode = "cdc" (RELAY_MODE) cannot be used: ${message}`, fix, { option: 'mode' });
}

/** Checks the server, creates the publication and the slot when missing; returns whether the slot was created now. */
export async function prepareCdc(pool: pg.Pool, o: SetupOptions, log: Logger): Promise<{ created: boolean }> {
  const { rows: [server] } = await pool.query<{ wal_level: string; version: number; keep: string; can_replicate: boolean }>(
    `select current_setting('wal_level') as wal_level, current_setting('server_version_num')::int as version,
            current_setting('max_slot_wal_keep_size') as keep,
            (select rolreplication or rolsuper from pg_roles where rolname = current_user) as can_replicate`,
  );
  if (server!.wal_level !== 'logical') throw cdcUnusable(`the server runs with wal_level = ${server!.wal_level}.`, 'Set wal_level = logical (postgresql.conf, or -c wal_level=logical) and restart PostgreSQL; or use mode "poll".');
  if (!server!.can_replicate) throw cdcUnusable('the role has neither REPLICATION nor superuser.', 'ALTER ROLE <relay role> WITH REPLICATION (or use a role that has it); or use mode "poll".');
  if (server!.keep === '-1') log.warn({ slot: o.cdcSlot }, 'max_slot_wal_keep_size is unlimited: while this relay is stopped or behind, its replication slot retains WAL without limit (set max_slot_wal_keep_size; see the README, "CDC mode")');

  await ensurePublication(pool, o);

  let created = false;
  let slot = await readSlotRow(pool, o.cdcSlot);
  if (!slot) {
    try {
      // failover = true (PostgreSQL 17+): a standby with sync_replication_slots = on keeps a copy of the slot.
      await pool.query(
        server!.version >= 170000 ? "select pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)" : "select pg_create_logical_replication_slot($1, 'pgoutput')",
        [o.cdcSlot],
      );
      created = true;
      log.info({ slot: o.cdcSlot, publication: o.cdcPublication }, 'created the replication slot: inserts committed from now on are streamed');
    } catch (err) {
      if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
    }
    slot = await readSlotRow(pool, o.cdcSlot);
  }
  if (!slot) throw cdcUnusable(`the replication slot ${o.cdcSlot} could not be created.`, 'Check max_replication_slots and the relay role\'s REPLICATION privilege.');
  if (slot.plugin !== 'pgoutput' || slot.database !== slot.current) {
    throw new RelayError(
      'DW_RELAY_INVALID_OPTION',
      `Relay option cdcSlot = ${JSON.stringify(o.cdcSlot)} is not valid: that replication slot ${slot.plugin !== 'pgoutput' ? `uses the plugin ${slot.plugin ?? '(physical slot)'}` : `belongs to the database ${slot.database}`}, not pgoutput on ${slot.current}.`,
      'Slot names are cluster-wide: set RELAY_CDC_SLOT (the cdcSlot option) to a name of its own for this database and outbox.',
      { option: 'cdcSlot' },
    );
  }
  if (slot.wal_status === 'lost') {
    throw new RelayError(
      'DW_RELAY_INVALID_OPTION',
      `Relay option cdcSlot = ${JSON.stringify(o.cdcSlot)}: the replication slot was invalidated (wal_status = lost): PostgreSQL removed WAL it still needed (max_slot_wal_keep_size). Inserts committed while it was behind can no longer be streamed.`,
      'Drop it (select pg_drop_replication_slot(...)) and start again — a new slot streams only what commits after it exists: publish what was lost from your own records (or the poll mode, if the rows are still in the table).',
      { option: 'cdcSlot' },
    );
  }
  if (created) {
    // Rows already in the table committed before the slot existed: they are not streamed.
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from ${o.tables.outbox}`);
    if (rows[0]!.n > 0) log.warn({ rows: rows[0]!.n, outbox: `${o.schema}.${o.table}` }, 'the outbox held rows when the replication slot was created: those committed before it are not streamed (drain them with mode "poll" first; see the README, "CDC mode")');
  }
  return { created };
}

async function ensurePublication(pool: pg.Pool, o: SetupOptions): Promise<void> {
  const check = () =>
    pool.query<{ pubinsert: boolean; has_table: boolean }>(
      `select p.pubinsert, exists (select 1 from pg_publication_tables t where t.pubname = p.pubname and t.schemaname = $2 and t.tablename = $3) as has_table
       from pg_publication p where p.pubname = $1`,
      [o.cdcPublication, o.schema, o.table],
    );
  let { rows } = await check();
  if (rows.length === 0) {
    try {
      await pool.query(`create publication "${o.cdcPublication}" for table ${o.tables.outbox} with (publish = 'insert')`);
    } catch (err) {
      if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
    }
    ({ rows } = await check());
  }
  if (!rows[0]?.has_table || !rows[0].pubinsert) {
    throw new RelayError(
      'DW_RELAY_INVALID_OPTION',
      `Relay option cdcPublication = ${JSON.stringify(o.cdcPublication)} is not valid: that publication ${rows[0] ? (rows[0].has_table ? 'does not publish inserts' : `does not include ${o.schema}.${o.table}`) : 'could not be created'}.`,
      `Set RELAY_CDC_PUBLICATION (the cdcPublication option) to a publication FOR TABLE ${o.schema}.${o.table} that publishes inserts, or leave it unset (the relay creates its own).`,
      { option: 'cdcPublication' },
    );
  }
}

async function readSlotRow(pool: pg.Pool, slot: string) {
  const { rows } = await pool.query<{ plugin: string | null; database: string | null; current: string; confirmed: string | null; active: boolean; active_pid: number | null; wal_status: string | null }>(
    `select plugin, database, current_database() as current, confirmed_flush_lsn::text as confirmed, active, active_pid, wal_status
     from pg_replication_slots where slot_name = $1`,
    [slot],
  );
  return rows[0];
}

/** The slot's position and state now (undefined: it does not exist). */
export async function readSlot(pool: pg.Pool, slot: string): Promise<SlotState | undefined> {
  const r = await readSlotRow(pool, slot);
  if (!r) return undefined;
  return { confirmedLsn: r.confirmed ? parseLsn(r.confirmed) : 0n, active: r.active, activePid: r.active_pid, walStatus: r.wal_status };
}

export interface SlotLag {
  /** pg_current_wal_lsn() - confirmed_flush_lsn: WAL written since the last position the relay confirmed. */
  lagBytes: number;
  /** pg_current_wal_lsn() - restart_lsn: WAL the slot keeps on disk. */
  retainedBytes: number;
  walStatus: string | null;
}

export async function readSlotLag(pool: pg.Pool, slot: string): Promise<SlotLag | undefined> {
  const { rows } = await pool.query<{ lag: number | null; retained: number | null; wal_status: string | null }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 as lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 as retained, wal_status
     from pg_replication_slots where slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  return r ? { lagBytes: Math.max(0, r.lag ?? 0), retainedBytes: Math.max(0, r.retained ?? 0), walStatus: r.wal_status } : undefined;
}

/** "replication slot … is active for PID …": another instance streams from the slot (SQLSTATE 55006). */
export function isSlotActiveError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '55006' || /replication slot .* is active for PID/i.test(e?.message ?? '');
}
