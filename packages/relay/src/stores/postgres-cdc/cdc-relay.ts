/**
 * startRelay({ mode: 'cdc' }): the relay streaming the outbox's inserts from a logical replication slot (pgoutput)
 * instead of reading the table. One loop:
 *
 *   no stream? → connect (the slot is active for another instance: stand by, retry every pollIntervalMs)
 *   → take up to batchSize received rows in commit order (keys in backoff and their later rows left out; rows of a
 *     key with a dead letter at or before them moved to the dead letters too)
 *   → publish them (BatchPublisher, as the polling relay) → acknowledged rows are deleted from the table (if the
 *     writer did not already) and settled → the slot's confirmed LSN moves to the end of the last transaction, in
 *     commit order, whose every row is settled (confirmations.ts) → again; nothing received → wait for the stream.
 *
 * No SELECT on the outbox, no slots or advisory locks: PostgreSQL lets one connection at a time stream from a slot.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OutboxRow } from '@dual-write/outbox';
import { backoffDelay } from '../../backoff.ts';
import { BatchPublisher, type BatchOutcome } from '../../batch-publisher.ts';
import { RelayError } from '../../errors.ts';
import { startMetricsServer, type HealthReport, type MetricsServer } from '../../http-server.ts';
import { createLogger } from '../../logger.ts';
import { addCdcMetrics, createMetrics, type CdcMetrics, type RelayMetrics } from '../../metrics.ts';
import type { ResolvedRelayOptions } from '../../options.ts';
import type { Relay, RelayEvents, RelayStats } from '../../relay.ts';
import type { Failure, OutboxStats, RelayPublisher, RelayStore } from '../../seams.ts';
import { reportBatch, reportKafkaUnavailable, reportPublished, sleepUntilStopDeadline, type ReportContext } from '../../relay-reports.ts';
import { checkDatabase, HEALTH_QUERY_TIMEOUT_MS } from '../../start-checks.ts';
import { Wakeup } from '../../wakeup.ts';
import { redactUrl } from '../postgres/session-check.ts';
import { isSlotActiveError, prepareCdc, readSlot, readSlotLag, type SlotLag } from './cdc-setup.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { ReplicationStream } from './replication-stream.ts';

/** Internals for tests (negative controls); not part of the options. */
export interface CdcInternals {
  /** Confirm each transaction as soon as it is received, before Kafka acknowledged it: loses rows in a crash. */
  unsafeConfirmOnReceipt?: boolean;
}

const keyOf = (row: OutboxRow) => `${row.aggregatetype}\u0000${row.aggregateid}`;

/** The positions (of `positions`, with their transactions `xids`) whose transaction this statement's snapshot sees in progress. */
const INVISIBLE_SELECT = (positions: string, xids: string) =>
  `select coalesce(array(select p::text from unnest(${positions}::bigint[], ${xids}::text[]) u(p, x)
                         where not pg_visible_in_snapshot(x::xid8, pg_current_snapshot())), '{}') as invisible`;

export async function startCdcRelay(opts: ResolvedRelayOptions, internals: CdcInternals = {}): Promise<Relay> {
  const log = createLogger({ logger: opts.logger, level: opts.logLevel, instanceId: opts.instanceId });
  const pool = new pg.Pool({
    connectionString: opts.database,
    max: opts.poolMax,
    application_name: `outbox-relay:${opts.instanceId}`.slice(0, 63),
    connectionTimeoutMillis: opts.connectTimeoutMs,
    keepAlive: true,
    query_timeout: 60_000,
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'an idle relay database connection failed'));
  try {
    await checkDatabase(opts, {
      ping: async () => void (await pool.query('select 1')),
      tablesExist: async () => (await pool.query<{ ok: boolean }>('select to_regclass($1) is not null and to_regclass($2) is not null as ok', [opts.tables.outbox, opts.tables.deadLetters])).rows[0]?.ok === true,
    });
    await prepareCdc(pool, opts, log);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const relay = new CdcRelay(opts, log, pool, opts.publisher({ options: opts, log }), internals);
  try {
    await relay.start();
  } catch (err) {
    await relay.stop().catch(() => {});
    throw err;
  }
  return relay;
}

interface DrainWaiter {
  /** pg_current_wal_lsn() when waitUntilDrained() was called. */
  target: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class CdcRelay implements Relay {
  readonly events = new EventEmitter<RelayEvents>();
  readonly metrics: Registry;
  private readonly m: RelayMetrics;
  private readonly cdc: CdcMetrics;
  private readonly batches: BatchPublisher;
  private readonly wakeup = new Wakeup();
  private stream: ReplicationStream | undefined;
  private role: 'starting' | 'active' | 'standby' = 'starting';
  private server: MetricsServer | undefined;
  private loopDone: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopDeadline = Infinity;
  private state: RelayStats['state'] = 'running';
  private readonly counts = { published: 0, failed: 0, deadLettered: 0, batches: 0 };
  private lastError: string | undefined;
  private databaseUp = true;
  private waiters: DrainWaiter[] = [];
  private deleting: Promise<void> = Promise.resolve();
  private toDelete: OutboxRow[] = [];
  private lagCache: { at: number; value: Promise<SlotLag | undefined> } | undefined;

  constructor(
    readonly options: ResolvedRelayOptions,
    private readonly log: Logger,
    private readonly pool: pg.Pool,
    private readonly kafka: RelayPublisher,
    private readonly internals: CdcInternals,
  ) {
    this.m = createMetrics(() => this.outboxStats());
    this.metrics = this.m.registry;
    this.cdc = addCdcMetrics(this.metrics, () => this.slotLag());
    this.batches = new BatchPublisher({
      kafka: this.kafka,
      store: this.refusals(),
      opts: options,
      log,
      metrics: this.m,
      shouldAbandon: () => (this.stopping !== undefined && Date.now() >= this.stopDeadline) || !this.stream?.alive,
      mayPublish: () => this.stream?.alive === true,
      sleep: (ms: number) => this.sleep(ms),
      // Acknowledged: the stream learns it, the rows count as published, and are deleted off the publishing path.
      onAcknowledged: (rows: OutboxRow[], topic: string) => {
        this.stream?.acknowledged(rows);
        reportPublished(this.reports, rows, topic);
        this.deleteSoon(rows);
      },
      onKafkaUnavailable: (error: string, retryInMs: number, attempt: number) => {
        this.lastError = error;
        reportKafkaUnavailable(this.reports, error, retryInMs, attempt);
      },
    });
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  get url(): string | undefined {
    return this.server?.url;
  }

  get port(): number | undefined {
    return this.server?.port;
  }

  async start(): Promise<void> {
    void this.kafka.connect().catch((err: Error) => this.log.warn({ error: err.message }, 'Kafka not reachable at start; the relay retries'));
    if (this.options.port !== false) {
      try {
        this.server = await startMetricsServer({ host: this.options.host, port: this.options.port, registry: this.metrics, health: () => this.health() });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new RelayError('DW_RELAY_PORT_TAKEN', `Port ${this.options.port} for the relay's /metrics is taken.`, 'Set RELAY_PORT (or the port option) to a free port, or 0 for any free port.', undefined, { cause: err });
        }
        throw err;
      }
    }
    this.log.info({ mode: 'cdc', slot: this.options.cdcSlot, publication: this.options.cdcPublication, url: this.server?.url, brokers: this.options.brokers, database: redactUrl(this.options.database), outbox: `${this.options.schema}.${this.options.table}` }, 'relay started');
    this.loopDone = this.loop();
  }

  stats(): RelayStats {
    return {
      instanceId: this.instanceId,
      state: this.state,
      // The slot gives this instance every key while it streams; a standby publishes none.
      ownedSlots: this.role === 'active' ? Array.from({ length: this.options.slots }, (_, i) => i) : [],
      members: 1,
      ...this.counts,
      kafka: this.kafka.state,
      database: this.databaseUp ? 'up' : 'down',
      lastError: this.lastError,
    };
  }

  waitUntilDrained(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (this.stopping) return Promise.reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', 'The relay is stopping; it will not drain.', 'Call waitUntilDrained() before stop().'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', `The relay ${this.instanceId} still had rows to publish after ${timeoutMs} ms.`, 'Check Kafka, the replication slot (outbox_cdc_slot_lag_bytes) and the relay log.', { stats: this.stats() }));
      }, timeoutMs);
      this.pool.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn').then(
        ({ rows }) => {
          this.waiters.push({ target: parseLsn(rows[0]!.lsn), resolve, reject, timer });
          this.stream?.ping();
          this.wakeup.wake();
        },
        (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      this.stopDeadline = Date.now() + this.options.shutdownTimeoutMs;
      this.wakeup.wake();
      await this.loopDone;
      await this.flushDeletes();
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', 'The relay stopped before it drained.', 'Keep the relay running until waitUntilDrained() resolves.'));
      }
      if (this.stream) {
        await this.stream.close();
        this.stream = undefined;
        await this.slotReleased(3000);
      }
      this.cdc.active.set(0);
      await this.kafka.close();
      await this.server?.close();
      await this.pool.end().catch(() => {});
      this.state = 'stopped';
      this.log.info({ published: this.counts.published, slot: this.options.cdcSlot }, 'relay stopped (the replication slot stays, and retains WAL until a relay confirms it again)');
    })();
    return this.stopping;
  }

  /** Waits (at most timeoutMs) until this instance's walsender has exited: the slot is free for a standby or a drop. */
  private async slotReleased(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        const { rows } = await this.pool.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where backend_type = 'walsender' and application_name = $1", [this.applicationName]);
        if (rows[0]!.n === 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch {
      // The database is gone: nothing holds the slot either.
    }
  }

  private get applicationName(): string {
    return `outbox-relay-cdc:${this.options.instanceId}`.slice(0, 63);
  }

  // ── the loop ────────────────────────────────────────────────────────────────────────────────────────────────

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!this.stream?.alive) {
          if (!(await this.connect())) {
            this.checkDrained(undefined); // a standby has nothing to drain
            await this.wakeup.wait(this.options.pollIntervalMs);
            continue;
          }
          failures = 0;
        }
        const stream = this.stream!;
        this.wakeup.clear();
        const rows = await this.nextBatch(stream);
        if (rows.length === 0) {
          this.checkDrained(stream);
          await this.wakeup.wait(this.waiters.length ? 100 : this.idleWaitMs(stream));
          continue;
        }
        const started = performance.now();
        const outcome = await this.batches.publish(rows);
        this.afterBatch(rows.length, outcome, (performance.now() - started) / 1000);
        stream.compact();
        if (outcome.abandoned && this.stopping) {
          this.log.warn({ unsent: rows.length - outcome.published.length }, 'stop deadline passed while Kafka was unavailable; the unsent rows are streamed again by the next relay');
          break;
        }
        if (outcome.abandoned) await this.kafka.resetProducer().catch((err: Error) => this.log.warn({ error: err.message }, 'could not reset the producer'));
      } catch (err) {
        this.noteDatabaseError((err as Error).message);
        await this.wakeup.wait(backoffDelay(failures++, this.options.retryBackoff));
      }
    }
  }

  /** Opens the replication stream; false while another instance streams from the slot (standby). */
  private async connect(): Promise<boolean> {
    if (this.stream) {
      // The last stream ended: what it held comes again from the slot's confirmed LSN.
      const err = await this.stream.ended;
      this.noteDatabaseError(`replication stream ended${err ? `: ${err.message}` : ''}; reconnecting (unconfirmed rows are streamed again)`);
      this.stream = undefined;
      this.toDelete = [];
      this.cdc.active.set(0);
    }
    const slot = await readSlot(this.pool, this.options.cdcSlot);
    if (!slot) throw new Error(`the replication slot ${this.options.cdcSlot} no longer exists (dropped?); restart the relay to create it again — inserts committed meanwhile are not streamed`);
    if (slot.active) return this.standby(`pid ${slot.activePid}`);
    const stream = new ReplicationStream({
      url: this.options.coordinationUrl ?? this.options.database,
      slot: this.options.cdcSlot,
      publication: this.options.cdcPublication,
      schema: this.options.schema,
      table: this.options.table,
      applicationName: this.applicationName,
      connectTimeoutMs: this.options.connectTimeoutMs,
      confirmedLsn: slot.confirmedLsn,
      maxPending: Math.max(1000, this.options.batchSize * 20),
      log: this.log,
      onActivity: () => this.wakeup.wake(),
      unsafeConfirmOnReceipt: this.internals.unsafeConfirmOnReceipt,
    });
    try {
      await stream.start();
    } catch (err) {
      await stream.close();
      if (isSlotActiveError(err)) return this.standby((err as Error).message);
      throw err;
    }
    this.stream = stream;
    this.databaseUp = true;
    const was = this.role;
    this.role = 'active';
    this.cdc.active.set(1);
    this.log.info({ slot: this.options.cdcSlot, from: formatLsn(slot.confirmedLsn), was }, 'streaming from the replication slot');
    this.events.emit('slots', { owned: this.stats().ownedSlots, members: 1, claimed: this.stats().ownedSlots, released: [] });
    return true;
  }

  private standby(activeFor: string): false {
    if (this.role !== 'standby') {
      this.log.info({ slot: this.options.cdcSlot, activeFor }, 'another relay streams from the replication slot: standing by (retrying every pollIntervalMs)');
      if (this.role === 'active') this.events.emit('slots', { owned: [], members: 1, claimed: [], released: Array.from({ length: this.options.slots }, (_, i) => i) });
    }
    this.role = 'standby';
    this.databaseUp = true;
    this.cdc.active.set(0);
    return false;
  }

  /**
   * Up to batchSize received rows in commit order: a key whose earlier row waits (backoff after a refusal) waits
   * entirely; a row of a key that has a dead letter at or before its position joins the dead letters (parked).
   */
  private async nextBatch(stream: ReplicationStream): Promise<OutboxRow[]> {
    const now = Date.now();
    const blocked = new Set<string>();
    const batch: OutboxRow[] = [];
    for (const s of stream.pending) {
      if (s.settled || s.acked) continue;
      const key = keyOf(s.row);
      if (blocked.has(key)) continue;
      if (s.row.next_attempt_at && s.row.next_attempt_at.getTime() > now) {
        blocked.add(key);
        continue;
      }
      batch.push(s.row);
      if (batch.length >= this.options.batchSize) break;
    }
    if (batch.length === 0) return batch;
    const parked = await this.parkBehindDeadLetters(batch);
    if (parked.length === 0) return batch;
    await this.refusals().moveToDeadLetters(parked);
    const set = new Set(parked.map((p) => p.row));
    return batch.filter((r) => !set.has(r));
  }

  /** Rows whose key has a dead letter at or before them (one lookup in the dead letters, by the batch's keys). */
  private async parkBehindDeadLetters(batch: OutboxRow[]): Promise<Failure[]> {
    const keys = [...new Map(batch.map((r) => [keyOf(r), r])).values()];
    const { rows } = await this.pool.query<{ aggregatetype: string; aggregateid: string; position: string; id: string }>(
      `select d.aggregatetype, d.aggregateid, min(d.position)::text as position, (array_agg(d.id order by d.position))[1]::text as id
       from ${this.options.tables.deadLetters} d join unnest($1::text[], $2::text[]) k(t, i) on d.aggregatetype = k.t and d.aggregateid = k.i
       group by 1, 2`,
      [keys.map((r) => r.aggregatetype), keys.map((r) => r.aggregateid)],
    );
    if (rows.length === 0) return [];
    const first = new Map(rows.map((r) => [`${r.aggregatetype}\u0000${r.aggregateid}`, r]));
    const parked: Failure[] = [];
    for (const row of batch) {
      const d = first.get(keyOf(row));
      if (d && BigInt(d.position) <= BigInt(row.position)) {
        parked.push({ row, error: d.position === row.position ? `already a dead letter (streamed again)` : `parked behind the dead letter ${d.id} (position ${d.position}) of its key: replay or discard that one first, then this one` });
      }
    }
    if (parked.length) this.log.warn({ rows: parked.length }, `rows of keys with a dead letter moved to ${this.options.tables.names.deadLetters} (CDC mode parks them there, in order)`);
    return parked;
  }

  private idleWaitMs(stream: ReplicationStream): number {
    // Wake when the first backoff ends.
    let next = Infinity;
    for (const s of stream.pending) if (!s.settled && s.row.next_attempt_at) next = Math.min(next, s.row.next_attempt_at.getTime());
    return Math.max(10, Math.min(this.options.pollIntervalMs * 4, next - Date.now()));
  }

  /**
   * Drained: the stream has passed the WAL position of the call, and every row received is settled — except rows
   * of keys in backoff, as the polling relay leaves parked keys out. A standby has nothing to drain.
   */
  private checkDrained(stream: ReplicationStream | undefined): void {
    if (this.waiters.length === 0) return;
    const now = Date.now();
    let waiting = false;
    if (stream) {
      const backoff = new Set<string>();
      for (const s of stream.pending) if (!s.settled && s.row.next_attempt_at && s.row.next_attempt_at.getTime() > now) backoff.add(keyOf(s.row));
      waiting = stream.pending.some((s) => !s.settled && !backoff.has(keyOf(s.row))) || this.toDelete.length > 0;
    }
    const due = this.waiters.filter((w) => this.role === 'standby' || (!waiting && stream !== undefined && stream.receivedLsn >= w.target));
    if (due.length < this.waiters.length) stream?.ping();
    for (const w of due) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters = this.waiters.filter((w) => !due.includes(w));
  }

  // ── what BatchPublisher needs of a store ───────────────────────────────────────────────────────────────────

  private refusalsImpl: Pick<RelayStore, 'recordFailures' | 'moveToDeadLetters'> | undefined;

  /** Where the batch publisher records refusals, in CDC mode. */
  private refusals(): Pick<RelayStore, 'recordFailures' | 'moveToDeadLetters'> {
    return (this.refusalsImpl ??= {
      // Kafka refused these: the attempt is counted in memory (a restart streams the row again and counts anew);
      // the row, and every later row of its key, waits for its backoff.
      recordFailures: (failures) => {
        const now = Date.now();
        for (const f of failures) {
          f.row.attempts += 1;
          f.row.last_error = f.error;
          f.row.next_attempt_at = new Date(now + f.delayMs);
        }
        return Promise.resolve();
      },
      moveToDeadLetters: async (failures) => {
        if (failures.length === 0) return;
        const rows = failures.map((f) => f.row);
        // Insert from the streamed values (the writer may have deleted the row), delete it from the outbox if it is
        // still there: one statement. Already there (streamed again after a restart): kept as it is.
        const { rows: [r] } = await this.pool.query<{ invisible: string[] }>(
          `with gone as (delete from ${this.options.tables.outbox} where position = any($8::bigint[])),
                ins as (
                  insert into ${this.options.tables.deadLetters} (id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, attempts, error)
                  select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[], $8::bigint[], $9::text[]::xid8[], $10::int[], $11::text[])
                  on conflict (id) do nothing)
           ${INVISIBLE_SELECT('$8', '$9')}`,
          [
            rows.map((r) => r.id), rows.map((r) => r.aggregatetype), rows.map((r) => r.aggregateid), rows.map((r) => r.type),
            rows.map((r) => r.payload_text ?? JSON.stringify(r.payload)), rows.map((r) => JSON.stringify(r.headers ?? {})), rows.map((r) => r.created_at),
            rows.map((r) => r.position), rows.map((r) => r.transaction_id), rows.map((r) => r.attempts + 1), failures.map((f) => f.error),
          ],
        );
        const invisible = new Set(r!.invisible);
        if (invisible.size) await this.deleteFromOutbox(rows.filter((row) => invisible.has(row.position)));
        this.stream?.settle(rows);
      },
    });
  }

  /** Deletes acknowledged rows from the table (a no-op when the writer deleted them), then settles them. */
  private async deleteAndSettle(rows: readonly OutboxRow[]): Promise<void> {
    const stream = this.stream;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deleteFromOutbox(rows);
        this.databaseUp = true;
        break;
      } catch (err) {
        this.noteDatabaseError(`could not delete ${rows.length} published row(s): ${(err as Error).message}`);
        // Unsettled, the rows hold the slot's position: a new stream sends them again.
        if (!stream?.alive || (this.stopping && Date.now() >= this.stopDeadline)) return;
        await this.sleep(backoffDelay(attempt, this.options.retryBackoff));
      }
    }
    stream?.settle(rows);
    this.wakeup.wake();
  }

  /**
   * Deletes rows from the outbox, waiting for their transactions to be visible. The walsender streams a transaction
   * once its commit record is flushed, a moment BEFORE the transaction becomes visible to other sessions: a delete
   * that quick would find nothing and leave the row in the table for good (seen in test/cdc-mode.test.ts). So the
   * delete also returns the rows whose transaction its snapshot still saw in progress, and those are deleted again.
   * A row whose transaction was visible and that was not there had been deleted by its writer.
   */
  private async deleteFromOutbox(rows: readonly OutboxRow[]): Promise<void> {
    let left = rows;
    for (let round = 0; left.length; round++) {
      const { rows: [r] } = await this.pool.query<{ invisible: string[] }>(
        `with gone as (delete from ${this.options.tables.outbox} where position = any($1::bigint[])) ${INVISIBLE_SELECT('$1', '$2')}`,
        [left.map((row) => row.position), left.map((row) => row.transaction_id)],
      );
      const invisible = new Set(r!.invisible);
      left = left.filter((row) => invisible.has(row.position));
      if (left.length) await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** round, 100)));
    }
  }

  /** Acknowledged rows are deleted one statement at a time, with everything acknowledged meanwhile. */
  private deleteSoon(rows: OutboxRow[]): void {
    this.toDelete.push(...rows);
    this.deleting = this.deleting.then(async () => {
      const next = this.toDelete.splice(0);
      if (next.length) await this.deleteAndSettle(next);
    });
  }

  private flushDeletes(): Promise<void> {
    return this.deleting;
  }

  // ── health, metrics ────────────────────────────────────────────────────────────────────────────────────────

  private slotLag(): Promise<SlotLag | undefined> {
    if (!this.lagCache || Date.now() - this.lagCache.at > 500) {
      const value = readSlotLag(this.pool, this.options.cdcSlot);
      value.catch(() => {});
      this.lagCache = { at: Date.now(), value };
    }
    return this.lagCache.value;
  }

  /**
   * The outbox gauges in CDC mode: backlog and oldest age are the rows this instance received and has not settled
   * (the slot's lag says what it has not received); parked keys and dead letters from <table>_dead_letters.
   */
  private async outboxStats(): Promise<OutboxStats> {
    const { rows } = await this.pool.query<{ dead: number; keys: number }>(
      `select count(*)::int as dead, count(distinct (aggregatetype, aggregateid))::int as keys from ${this.options.tables.deadLetters}`,
    );
    const now = Date.now();
    let backlog = 0;
    let oldest = now;
    const backoff = new Set<string>();
    for (const s of this.stream?.pending ?? []) {
      if (s.settled) continue;
      backlog++;
      oldest = Math.min(oldest, new Date(s.row.created_at).getTime());
      if (s.row.next_attempt_at && s.row.next_attempt_at.getTime() > now) backoff.add(keyOf(s.row));
    }
    return { backlog, oldestAgeSeconds: Math.max(0, (now - oldest) / 1000), parkedKeys: rows[0]!.keys + backoff.size, deadLetters: rows[0]!.dead };
  }

  private async health(): Promise<HealthReport> {
    const s = this.stats();
    const reasons: string[] = [];
    if (s.state !== 'running') reasons.push(`relay ${s.state}`);
    if (s.database === 'down') reasons.push('database unreachable');
    if (s.kafka === 'down') reasons.push('Kafka unreachable');
    const down = s.state !== 'running' || s.database === 'down';
    let oldestUnpublishedAgeSeconds: number | null = null;
    let slotLagBytes: number | null = null;
    if (!down) {
      const within = <T>(p: Promise<T>) =>
        Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the database did not answer within ${HEALTH_QUERY_TIMEOUT_MS} ms`)), HEALTH_QUERY_TIMEOUT_MS).unref())]);
      try {
        const [stats, lag] = await within(Promise.all([this.m.outboxStats(), this.slotLag()]));
        oldestUnpublishedAgeSeconds = Math.round(stats.oldestAgeSeconds * 1000) / 1000;
        if (stats.oldestAgeSeconds > this.options.healthMaxAgeSeconds) reasons.push(`oldest unpublished row is ${stats.oldestAgeSeconds.toFixed(1)} s old (threshold ${this.options.healthMaxAgeSeconds} s)`);
        slotLagBytes = lag?.lagBytes ?? null;
        const maxBytes = this.options.cdcMaxSlotLagMb * 1024 * 1024;
        if (lag && lag.lagBytes > maxBytes) reasons.push(`replication slot ${this.options.cdcSlot} is ${(lag.lagBytes / 1048576).toFixed(1)} MB behind (threshold ${this.options.cdcMaxSlotLagMb} MB)`);
        if (lag?.walStatus === 'unreserved' || lag?.walStatus === 'lost') reasons.push(`replication slot ${this.options.cdcSlot} wal_status = ${lag.walStatus}`);
        if (!lag) reasons.push(`replication slot ${this.options.cdcSlot} does not exist`);
      } catch (err) {
        reasons.push(`oldest unpublished row's age unknown: ${(err as Error).message}`);
      }
    }
    return {
      status: down ? 'down' : reasons.length ? 'degraded' : 'ok',
      reasons,
      instanceId: s.instanceId,
      mode: 'cdc',
      role: this.role,
      database: s.database,
      kafka: s.kafka,
      oldestUnpublishedAgeSeconds,
      slotLagBytes,
      ownedSlots: s.ownedSlots.length,
      members: s.members,
      published: s.published,
      lastError: s.lastError,
    };
  }

  private sleep(ms: number): Promise<void> {
    return sleepUntilStopDeadline(ms, () => (this.stopping ? this.stopDeadline : Infinity));
  }

  private noteDatabaseError(message: string, opts: { logged?: boolean } = {}): void {
    this.databaseUp = false;
    this.lastError = message;
    if (!opts.logged) this.log.warn({ error: message }, 'database error; retrying');
    this.events.emit('database-error', { error: message });
  }

  /** What the shared reporting helpers (relay-reports.ts) update. */
  private get reports(): ReportContext {
    return { counts: this.counts, m: this.m, log: this.log, events: this.events };
  }

  private afterBatch(rows: number, o: BatchOutcome, seconds: number): void {
    reportBatch(this.reports, rows, o, seconds, `message moved to ${this.options.tables.names.deadLetters}; its key's later rows follow it there until it is replayed or discarded`);
  }

}
