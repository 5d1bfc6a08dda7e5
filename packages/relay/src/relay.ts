/**
 * startRelay(): the outbox relay, in-process. One loop per instance:
 *
 *   session ok? → re-share slots (every rebalanceIntervalMs, or when an instance joins/leaves)
 *   → read committed rows of my slots in position order, except the keys an open transaction holds (autocommit statements)
 *   → publish them (batch-publisher.ts), reading the next batch meanwhile; acknowledged rows are deleted in bulk
 *     on the side (acked-rows.ts) → again; nothing to do → sleep until NOTIFY or poll
 *   (with listen: false / RELAY_LISTEN=false it does not LISTEN: it polls every pollIntervalMs only).
 *
 * It never holds a database transaction open: each statement autocommits on the relay's own small pool,
 * and the session that holds the slot locks and LISTENs only ever runs single statements.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { RelayError } from './errors.ts';
import type { OutboxRow } from '@dual-write/outbox';
import { AckedRows } from './acked-rows.ts';
import { backoffDelay } from './backoff.ts';
import { BatchPublisher, type BatchOutcome } from './batch-publisher.ts';
import { startMetricsServer, type HealthReport, type MetricsServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { createMetrics, type RelayMetrics } from './metrics.ts';
import { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './options.ts';
import type { Blocker, RelayCoordinator, RelayPublisher, RelayStore } from './seams.ts';
import { reportBatch, reportKafkaUnavailable, reportPublished, sleepUntilStopDeadline, type ReportContext } from './relay-reports.ts';
import { checkDatabase, HEALTH_QUERY_TIMEOUT_MS, retryUntil } from './start-checks.ts';
import { redactUrl } from './stores/postgres/session-check.ts';
import { Wakeup } from './wakeup.ts';


/** How often an idle relay with rows held back asks who holds them (store.blockers()). */
const BLOCKERS_EVERY_MS = 5000;
export interface RelayEvents {
  /** A group of rows was acknowledged by Kafka and deleted. `total`: this instance's count so far. */
  published: [{ count: number; topic: string; total: number; ids: string[] }];
  /** Kafka refused a message; it is retried after its backoff (attempts so far). */
  failed: [{ id: string; aggregateType: string; aggregateId: string; attempts: number; error: string }];
  /** A message reached maxAttempts and moved to the dead letters (`<table>_dead_letters`); its key is parked until replay/discard. */
  'dead-lettered': [{ id: string; aggregateType: string; aggregateId: string; error: string }];
  /** A batch finished (read → published/refused → deleted). */
  batch: [{ rows: number; published: number; failed: number; deadLettered: number; parked: number; durationMs: number }];
  /**
   * A read found nothing to publish now. heldBack = committed rows of my slots held back by open transactions that
   * wrote the same keys (their lock buckets); blockers = those transactions (pid, database, application, age).
   */
  idle: [{ heldBack: number; ownedSlots: number; blockers: Blocker[] }];
  /** The slots this instance owns changed. */
  slots: [{ owned: number[]; members: number; claimed: number[]; released: number[] }];
  /** Kafka could not be reached; the same request is retried after retryInMs. */
  'kafka-unavailable': [{ error: string; retryInMs: number; attempt: number }];
  /** The database failed (session lost, a query failed); the relay retries. */
  'database-error': [{ error: string }];
}

export interface RelayStats {
  instanceId: string;
  state: 'running' | 'stopping' | 'stopped';
  ownedSlots: number[];
  members: number;
  published: number;
  failed: number;
  deadLettered: number;
  batches: number;
  kafka: 'unknown' | 'up' | 'down';
  database: 'up' | 'down';
  lastError: string | undefined;
}

export interface Relay {
  readonly instanceId: string;
  /** Where /metrics and /health answer (undefined with port: false). */
  readonly url: string | undefined;
  readonly port: number | undefined;
  readonly events: EventEmitter<RelayEvents>;
  readonly metrics: Registry;
  readonly options: ResolvedRelayOptions;
  stats(): RelayStats;
  /**
   * Resolves once a read that started after this call found nothing left to publish in this instance's slots:
   * every committed, unparked row that existed when you called has been published (or refused into backoff /
   * the dead letters). Rejects with DW_RELAY_DRAIN_TIMEOUT after timeoutMs (default 30 s).
   */
  waitUntilDrained(opts?: { timeoutMs?: number }): Promise<void>;
  /** Stops claiming, finishes the in-flight batch (at most shutdownTimeoutMs), releases the slots, closes everything. */
  stop(): Promise<void>;
}


interface DrainWaiter {
  afterCycle: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const opts = resolveRelayOptions(options);
  if (opts.mode === 'cdc') return (await import('./stores/postgres-cdc/cdc-relay.ts')).startCdcRelay(opts); // CDC mode: its own loop (stores/postgres-cdc)
  const log = createLogger({ logger: opts.logger, level: opts.logLevel, instanceId: opts.instanceId });
  const store = opts.store({ options: opts, log });
  try {
    await checkDatabase(opts, store);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  const relay = new OutboxRelay(opts, log, store, opts.publisher({ options: opts, log }));
  try {
    await relay.start();
  } catch (err) {
    await relay.stop().catch(() => {});
    throw err;
  }
  return relay;
}

class OutboxRelay implements Relay {
  readonly events = new EventEmitter<RelayEvents>();
  readonly metrics: Registry;
  private readonly m: RelayMetrics;
  private readonly session: RelayCoordinator;
  private readonly batches: BatchPublisher;
  private readonly acked: AckedRows;
  private readonly wakeup = new Wakeup();
  private server: MetricsServer | undefined;
  private loopDone: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopDeadline = Infinity;
  private state: RelayStats['state'] = 'running';
  private rebalanceDue = true;
  private lastRebalance = 0;
  private members = 0;
  private cycle = 0;
  private waiters: DrainWaiter[] = [];
  private counts = { published: 0, failed: 0, deadLettered: 0, batches: 0 };
  private lastError: string | undefined;
  private databaseUp = true;

  constructor(
    readonly options: ResolvedRelayOptions,
    private readonly log: Logger,
    private readonly store: RelayStore,
    private readonly kafka: RelayPublisher,
  ) {
    this.m = createMetrics(() => store.stats());
    this.metrics = this.m.registry;
    this.session = store.coordinator(
      {
        onOutboxNotify: () => this.wakeup.wake(),
        onRebalanceHint: () => {
          this.rebalanceDue = true;
          this.wakeup.wake();
        },
        onLost: (err) => {
          this.m.ownedSlots.set(0);
          this.noteDatabaseError(`relay session lost${err ? `: ${err.message}` : ''} (its slots are released)`);
          this.wakeup.wake();
        },
      },
    );
    const stopDeadlinePassed = () => this.stopping !== undefined && Date.now() >= this.stopDeadline;
    this.acked = new AckedRows({
      store,
      opts: options,
      log,
      sleep: (ms) => this.sleep(ms),
      shouldAbandon: stopDeadlinePassed,
      onDeleted: (rows, topic) => this.onPublished(rows, topic),
      onFenced: () => {
        this.rebalanceDue = true;
      },
      onDatabaseError: (error) => this.noteDatabaseError(error, { logged: true }),
    });
    this.batches = new BatchPublisher({
      kafka: this.kafka,
      store,
      opts: options,
      log,
      metrics: this.m,
      shouldAbandon: () => stopDeadlinePassed() || !this.session.mayPublish(),
      mayPublish: () => this.session.mayPublish(),
      sleep: (ms) => this.sleep(ms),
      onAcknowledged: (rows, topic) => this.acked.add(rows, topic),
      onKafkaUnavailable: (error, retryInMs, attempt) => {
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
    await retryUntil(Date.now() + this.options.connectTimeoutMs, () => this.session.open());
    await this.rebalance(); // started = owning its share of the slots
    // Kafka being down is not a reason to refuse to start: the loop retries (and rows wait safely in the outbox).
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
    this.log.info({ slots: this.options.slots, url: this.server?.url, brokers: this.options.brokers, database: redactUrl(this.options.database), outbox: `${this.options.schema}.${this.options.table}` }, 'relay started');
    this.loopDone = this.loop();
  }

  stats(): RelayStats {
    return {
      instanceId: this.instanceId,
      state: this.state,
      ownedSlots: this.session.owned,
      members: this.members,
      ...this.counts,
      kafka: this.kafka.state,
      database: this.databaseUp && this.session.isOpen ? 'up' : 'down',
      lastError: this.lastError,
    };
  }

  /**
   * /health. `down` (503) while the relay is not running or its database is unreachable — answered at once, without
   * a query. Otherwise `degraded` (200) with its reasons — Kafka unreachable; the outbox's oldest unpublished row
   * older than healthMaxAgeSeconds (the whole table: every instance says so, whoever owns the row); that age unknown
   * (the database did not answer in time) — or `ok`. The age comes from the gauges' stats read (shared, 500 ms).
   */
  private async health(): Promise<HealthReport> {
    const s = this.stats();
    const reasons: string[] = [];
    if (s.state !== 'running') reasons.push(`relay ${s.state}`);
    if (s.database === 'down') reasons.push('database unreachable');
    if (s.kafka === 'down') reasons.push('Kafka unreachable');
    const down = s.state !== 'running' || s.database === 'down';
    let oldestUnpublishedAgeSeconds: number | null = null;
    if (!down) {
      const age = await this.oldestUnpublishedAge();
      if (typeof age === 'number') {
        oldestUnpublishedAgeSeconds = Math.round(age * 1000) / 1000;
        const max = this.options.healthMaxAgeSeconds;
        if (age > max) reasons.push(`oldest unpublished row is ${age.toFixed(1)} s old (threshold ${max} s)`);
      } else {
        reasons.push(`oldest unpublished row's age unknown: ${age.error}`);
      }
    }
    return {
      status: down ? 'down' : reasons.length ? 'degraded' : 'ok',
      reasons,
      instanceId: s.instanceId,
      database: s.database,
      kafka: s.kafka,
      oldestUnpublishedAgeSeconds,
      ownedSlots: s.ownedSlots.length,
      members: s.members,
      published: s.published,
      lastError: s.lastError,
    };
  }

  /** The whole outbox's oldest unpublished row's age (s), or why it is unknown; never waits longer than HEALTH_QUERY_TIMEOUT_MS. */
  private async oldestUnpublishedAge(): Promise<number | { error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${HEALTH_QUERY_TIMEOUT_MS} ms`)), HEALTH_QUERY_TIMEOUT_MS);
    });
    try {
      return (await Promise.race([this.m.outboxStats(), timeout])).oldestAgeSeconds;
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  waitUntilDrained(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (this.stopping) return Promise.reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', 'The relay is stopping; it will not drain.', 'Call waitUntilDrained() before stop().'));
    return new Promise<void>((resolve, reject) => {
      const waiter: DrainWaiter = {
        afterCycle: this.cycle,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', `The relay ${this.instanceId} still had rows to publish after ${timeoutMs} ms.`, 'Check Kafka and the relay log; a long-running transaction holds back every row committed after it started.', { stats: this.stats() }));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      this.wakeup.wake();
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      this.stopDeadline = Date.now() + this.options.shutdownTimeoutMs;
      this.wakeup.wake();
      await this.loopDone;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new RelayError('DW_RELAY_DRAIN_TIMEOUT', 'The relay stopped before it drained.', 'Keep the relay running until waitUntilDrained() resolves.'));
      }
      await this.session.close();
      await this.kafka.close();
      await this.server?.close();
      await this.store.close().catch(() => {});
      this.m.ownedSlots.set(0);
      this.state = 'stopped';
      this.log.info({ published: this.counts.published }, 'relay stopped');
    })();
    return this.stopping;
  }

  /** A retry backoff that ends early once stop()'s deadline has passed. */
  private sleep(ms: number): Promise<void> {
    return sleepUntilStopDeadline(ms, () => (this.stopping ? this.stopDeadline : Infinity));
  }

  private noteDatabaseError(message: string, opts: { logged?: boolean } = {}): void {
    this.databaseUp = false;
    this.lastError = message;
    if (!opts.logged) this.log.warn({ error: message }, 'database error; retrying');
    this.events.emit('database-error', { error: message });
  }

  private onPublished(rows: OutboxRow[], topic: string): void {
    reportPublished(this.reports, rows, topic);
  }


  /**
   * Reads a batch of this instance's slots, skipping `exclude` (rows in flight or acknowledged but not yet deleted).
   * Numbered: waitUntilDrained() trusts only an empty read that started after it was called.
   */
  private async read(owned: number[], exclude: ReadonlySet<string>): Promise<{ rows: OutboxRow[]; cycle: number }> {
    const cycle = ++this.cycle;
    const rows = await this.store.fetchBatch(this.options.slots, owned, this.options.batchSize, exclude);
    // A store that cannot skip rows in SQL may return them: they must not be sent twice at once.
    return { rows: exclude.size === 0 ? rows : rows.filter((r) => !exclude.has(r.position)), cycle };
  }

  /**
   * The loop is pipelined: while a full batch is in flight to Kafka, the next one is read (skipping the rows in flight),
   * and acknowledged rows are deleted in bulk on the side (acked-rows.ts). Batches are still published one after
   * the other, so a key's rows reach Kafka in order. A read made while a batch was in flight is dropped when that
   * batch had a refusal (it may hold later rows of the refused key) or was abandoned, and when slots are re-shared.
   */
  private async loop(): Promise<void> {
    let failures = 0;
    let next: Promise<{ rows: OutboxRow[]; cycle: number }> | undefined;
    const drop = () => {
      void next?.catch(() => {});
      next = undefined;
    };
    while (!this.stopping) {
      try {
        if (!this.session.isOpen) {
          drop();
          await this.session.open();
          this.rebalanceDue = true;
          this.log.info('relay session re-opened');
        }
        if (this.rebalanceDue || Date.now() - this.lastRebalance >= this.options.rebalanceIntervalMs) {
          drop();
          await this.rebalance();
        }
        if (this.stopping) break;

        const owned = this.session.owned;
        let read = next;
        next = undefined;
        if (!read) {
          this.wakeup.clear(); // about to look: a NOTIFY from now on wakes the next sleep
          read = this.read(owned, this.acked.pendingPositions.size ? new Set(this.acked.pendingPositions) : new Set());
        }
        const { rows, cycle } = await read;
        this.databaseUp = true;
        failures = 0;
        if (rows.length === 0) {
          await this.acked.flushed(); // what was published is deleted before anyone is told the outbox is drained
          await this.onIdle(cycle, owned);
          const untilRebalance = this.options.rebalanceIntervalMs - (Date.now() - this.lastRebalance);
          await this.wakeup.wait(Math.max(10, Math.min(this.options.pollIntervalMs, untilRebalance)));
          continue;
        }
        const started = performance.now();
        const publishing = this.batches.publish(rows);
        if (rows.length === this.options.batchSize) {
          // A full batch: there is likely more, read it now. (A partial one drained the slots as of its read; reading
          // ahead would mostly find nothing and cost the writers a statement per commit.)
          this.wakeup.clear();
          next = this.read(owned, new Set([...rows.map((r) => r.position), ...this.acked.pendingPositions]));
          void next.catch(() => {}); // its error surfaces when it is awaited
        }
        const outcome = await publishing;
        this.afterBatch(rows.length, outcome, (performance.now() - started) / 1000);
        if (outcome.refusals > 0 || outcome.abandoned) drop();
        if (outcome.abandoned && this.stopping) {
          this.log.warn({ unsent: rows.length - outcome.published.length }, 'stop deadline passed while Kafka was unavailable; unsent rows stay in the outbox');
          break;
        }
        if (outcome.abandoned) {
          // Not sure it still owns its slots (a stale lease, or fenced off): re-check the session, re-share, go on.
          this.rebalanceDue = true;
          // A request given up on may have landed without its ack. The idempotent producer would give the next
          // request to that partition the same sequence numbers, and a different batch of the same size would be
          // taken by the broker for a duplicate of it — and dropped. A new producer (new producer id) cannot collide.
          await this.kafka.resetProducer().catch((err: Error) => this.log.warn({ error: err.message }, 'could not reset the producer'));
        }
      } catch (err) {
        drop();
        if (err instanceof RelayError && err.code === 'DW_RELAY_SLOTS_MISMATCH') this.log.error({ error: err.message }, err.hint);
        this.noteDatabaseError((err as Error).message);
        await this.wakeup.wait(backoffDelay(failures++, this.options.retryBackoff));
      }
    }
    drop();
    await this.acked.flushed(); // bounded by the stop deadline
  }

  private async rebalance(): Promise<void> {
    const before = this.session.owned.join(',');
    const r = await this.session.rebalance();
    this.lastRebalance = Date.now();
    this.rebalanceDue = false;
    this.members = r.members;
    this.m.ownedSlots.set(r.owned.length);
    if (r.owned.join(',') !== before) {
      this.log.info({ owned: r.owned.length, members: r.members, fairShare: r.fairShare, claimed: r.claimed, released: r.released }, 'slots re-shared');
      this.events.emit('slots', { owned: r.owned, members: r.members, claimed: r.claimed, released: r.released });
    }
  }

  /** The last blockers() answer and when: the query joins pg_locks with the held rows, so it runs at most every BLOCKERS_EVERY_MS. */
  private lastBlockers: { at: number; blockers: Blocker[] } = { at: 0, blockers: [] };
  private blockersInFlight = false;

  private async refreshBlockers(owned: number[]): Promise<void> {
    this.blockersInFlight = true;
    try {
      this.lastBlockers = { at: Date.now(), blockers: await this.store.blockers(this.options.slots, owned) };
    } catch (err) {
      this.lastBlockers = { at: Date.now(), blockers: this.lastBlockers.blockers };
      if (!this.stopping) this.log.warn({ error: (err as Error).message }, 'could not ask which transactions hold rows back');
    } finally {
      this.blockersInFlight = false;
    }
  }

  private async onIdle(cycle: number, owned: number[]): Promise<void> {
    const due = this.waiters.filter((w) => w.afterCycle < cycle);
    const heldBack = await this.store.countUnpublished(this.options.slots, owned);
    // Who holds the rows back is a diagnosis (gauges, a warning), not a decision: while rows stay held back, every
    // commit's NOTIFY wakes the relay to an empty read, and asking each time would load PostgreSQL with scans of the
    // held rows (measured: a drain by several instances fell to a tenth while the instances asked after each wake-up).
    // The first answer is awaited (the first 'idle' event that reports rows held back names who holds them); later
    // ones are refreshed in the background, one at a time, so a slow diagnosis never delays the next read.
    let blockers: Blocker[] = [];
    if (heldBack > 0) {
      if (this.lastBlockers.at === 0) await this.refreshBlockers(owned);
      else if (!this.blockersInFlight && Date.now() - this.lastBlockers.at >= BLOCKERS_EVERY_MS) void this.refreshBlockers(owned);
      blockers = this.lastBlockers.blockers;
    } else {
      this.lastBlockers = { at: 0, blockers: [] };
    }
    this.reportHeldBack(heldBack, blockers);
    this.events.emit('idle', { heldBack, ownedSlots: owned.length, blockers });
    if (heldBack > 0) return;
    for (const w of due) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters = this.waiters.filter((w) => !due.includes(w));
  }

  private lastBlockerLog = { at: 0, pids: '' };

  /** The gauges, and a warning naming the blocking backends (when they change, or every 30 s while they last). */
  private reportHeldBack(heldBack: number, blockers: Blocker[]): void {
    this.m.heldBack.set(heldBack);
    this.m.blockingTransactionAge.reset();
    for (const b of blockers) this.m.blockingTransactionAge.set({ pid: String(b.pid), database: b.database, application_name: b.applicationName }, b.transactionAgeSeconds);
    const pids = blockers.map((b) => b.pid).join(',');
    if (heldBack === 0 || blockers.length === 0) {
      this.lastBlockerLog = { at: 0, pids: '' };
      return;
    }
    if (pids === this.lastBlockerLog.pids && Date.now() - this.lastBlockerLog.at < 30_000) return;
    this.lastBlockerLog = { at: Date.now(), pids };
    this.log.warn(
      { heldBack, blockers: blockers.map((b) => ({ pid: b.pid, database: b.database, applicationName: b.applicationName, transactionAgeSeconds: Math.round(b.transactionAgeSeconds), rows: b.rows })) },
      `${heldBack} committed row(s) held back by ${blockers.length} open transaction(s) that wrote the same keys; oldest: pid ${blockers[0]!.pid} (${blockers[0]!.applicationName || 'no application_name'}, open ${Math.round(blockers[0]!.transactionAgeSeconds)} s)`,
    );
  }

  /** What the shared reporting helpers (relay-reports.ts) update. */
  private get reports(): ReportContext {
    return { counts: this.counts, m: this.m, log: this.log, events: this.events };
  }

  private afterBatch(rows: number, o: BatchOutcome, seconds: number): void {
    reportBatch(this.reports, rows, o, seconds, `message moved to ${this.options.tables.names.deadLetters}; its key is parked until it is replayed or discarded`);
  }

}
