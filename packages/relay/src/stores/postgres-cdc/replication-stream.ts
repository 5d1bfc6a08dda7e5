/**
 * One connection of the replication protocol streaming the outbox's inserts from the slot (pgoutput, protocol 1:
 * each transaction whole, at its commit, in commit order). It keeps what was received and is not settled yet, in
 * commit order, and reports the confirmed LSN (Confirmations) to the walsender — never more than that, whatever the
 * library would do on its own (its automatic acknowledgement confirms whatever arrived; it is off).
 *
 * A stream ends for good when its connection does (an error, the server gone, stop()): the relay then drops it and
 * everything it held, and starts a new one, which PostgreSQL starts at the slot's confirmed LSN — the unsettled
 * rows come again (at-least-once).
 */
import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import type { Logger } from 'pino';
import type { OutboxRow } from '@dual-write/outbox';
import { Confirmations, type TxEntry } from './confirmations.ts';
import { decodeInsert, TextPgoutputPlugin } from './decode.ts';
import { formatLsn, parseLsn } from './lsn.ts';

export interface StreamedRow {
  row: OutboxRow;
  tx: TxEntry;
  /** Kafka acknowledged it (the delete from the table may still be running). */
  acked: boolean;
  /** Acknowledged and deleted, or in the dead letters: it counts for the confirmed LSN. */
  settled: boolean;
}

export interface ReplicationStreamOptions {
  url: string;
  slot: string;
  publication: string;
  schema: string;
  table: string;
  applicationName: string;
  connectTimeoutMs: number;
  /** The slot's confirmed_flush_lsn before the stream starts (never reported lower). */
  confirmedLsn: bigint;
  /** Received rows held in memory before the stream is paused (TCP backpressure) until some are settled. */
  maxPending: number;
  log: Logger;
  /** Rows arrived, or a keepalive did (the loop may have something to do). */
  onActivity: () => void;
  /** Negative control only: confirm every transaction as soon as it is received (loses rows in a crash). */
  unsafeConfirmOnReceipt?: boolean;
}

/** How often the relay reports its confirmed LSN even when it did not move (the walsender times out silent clients). */
const STATUS_INTERVAL_MS = 5000;
/**
 * A connection cut without a reset (a partition, a dead NAT entry) would leave the stream waiting forever: after
 * SILENCE_PING_MS without a message the relay asks the walsender for a keepalive, after SILENCE_END_MS it gives the
 * stream up (a new one starts at the confirmed LSN). Not while the relay itself paused the socket.
 */
const SILENCE_PING_MS = 10_000;
const SILENCE_END_MS = 45_000;

export class ReplicationStream {
  /** Received, not yet settled, in commit order (settled ones are removed by compact()). */
  pending: StreamedRow[] = [];
  readonly confirmations: Confirmations;
  /** The stream's position: the end of the last transaction received, or of a keepalive between transactions. */
  receivedLsn = 0n;
  alive = false;
  /** Resolves with the error that ended the stream (undefined: stopped). */
  readonly ended: Promise<Error | undefined>;
  private endedResolve!: (err: Error | undefined) => void;
  private readonly service: LogicalReplicationService;
  private readonly byRow = new Map<OutboxRow, StreamedRow>();
  private open: OutboxRow[] | undefined;
  private paused = false;
  private sentLsn = 0n;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusDue: NodeJS.Timeout | undefined;
  private unsettled = 0;
  private lastHeard = 0;

  constructor(private readonly o: ReplicationStreamOptions) {
    this.confirmations = new Confirmations(o.confirmedLsn);
    this.sentLsn = o.confirmedLsn;
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.service = new LogicalReplicationService(
      {
        connectionString: o.url,
        application_name: o.applicationName.slice(0, 63),
        connectionTimeoutMillis: o.connectTimeoutMs,
        keepAlive: true,
        // The text of timestamptz columns is parsed by decodeInsert(): ISO, whatever the server's defaults.
        options: '-c DateStyle=ISO -c TimeZone=UTC',
      },
      // acknowledge.auto would confirm every message as it arrives, and its timer the last LSN received: both off.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  /** Connects and starts streaming; rejects with PostgreSQL's error (e.g. the slot is active for another PID). */
  async start(): Promise<void> {
    const plugin = new TextPgoutputPlugin(this.o.publication);
    // Handled synchronously, in the order of the socket: a keepalive is never taken before the data sent before it.
    this.service.on('data', (_lsn: string, msg: Pgoutput.Message) => this.onMessage(msg));
    this.service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => this.onKeepalive(lsn, shouldRespond));
    this.service.on('error', (err: Error) => this.end(err));
    const started = new Promise<void>((resolve) => this.service.once('start', () => resolve()));
    // '0/0': start at the slot's confirmed_flush_lsn, never at a position the library remembers.
    const streaming = this.service.subscribe(plugin, this.o.slot, '0/0');
    streaming.then(
      () => this.end(new Error('the replication stream ended')),
      (err: Error) => this.end(err),
    );
    await Promise.race([started, streaming.then(() => Promise.reject(new Error('the replication stream ended before it started')))]);
    this.alive = true;
    this.lastHeard = Date.now();
    this.statusTimer = setInterval(() => {
      const silent = Date.now() - this.lastHeard;
      if (!this.paused && silent > SILENCE_END_MS) this.end(new Error(`no message from the walsender for ${Math.round(silent / 1000)} s`));
      else this.sendStatus(!this.paused && silent > SILENCE_PING_MS);
    }, STATUS_INTERVAL_MS);
    this.statusTimer.unref();
  }

  /** Rows received and not settled. */
  get unsettledRows(): number {
    return this.unsettled;
  }

  entryOf(row: OutboxRow): StreamedRow | undefined {
    return this.byRow.get(row);
  }

  /** Kafka acknowledged these rows (they are not sent again by this stream). */
  acknowledged(rows: readonly OutboxRow[]): void {
    for (const r of rows) {
      const s = this.byRow.get(r);
      if (s) s.acked = true;
    }
  }

  /** These rows are done (deleted after Kafka's ack, or in the dead letters): the confirmed LSN may move. */
  settle(rows: readonly OutboxRow[]): void {
    const before = this.confirmations.confirmed;
    for (const r of rows) {
      const s = this.byRow.get(r);
      if (!s || s.settled) continue;
      s.settled = s.acked = true;
      this.byRow.delete(r);
      this.unsettled--;
      this.confirmations.settle(s.tx);
    }
    if (this.confirmations.confirmed > before) this.statusSoon();
    if (this.paused && this.unsettled <= this.o.maxPending / 2) this.resume();
  }

  /** Drops settled rows from `pending`. */
  compact(): void {
    if (this.pending.some((s) => s.settled)) this.pending = this.pending.filter((s) => !s.settled);
  }

  /** Asks the walsender for a keepalive (it carries its position: see receivedLsn). */
  ping(): void {
    this.sendStatus(true);
  }

  /** Reports the confirmed LSN once more and closes the connection (the slot keeps its position and retains WAL). */
  async close(): Promise<void> {
    if (this.alive) this.sendStatus(false);
    clearInterval(this.statusTimer);
    clearTimeout(this.statusDue);
    this.alive = false;
    await this.service.destroy().catch(() => {});
    this.endedResolve(undefined);
  }

  private end(err: Error): void {
    if (!this.alive && this.statusTimer === undefined) {
      // Not started yet: start() reports it.
      this.endedResolve(err);
      return;
    }
    if (!this.alive) return;
    this.alive = false;
    clearInterval(this.statusTimer);
    clearTimeout(this.statusDue);
    void this.service.destroy().catch(() => {});
    this.endedResolve(err);
    this.o.onActivity();
  }

  private onMessage(msg: Pgoutput.Message): void {
    this.lastHeard = Date.now();
    try {
      switch (msg.tag) {
        case 'begin':
          this.open = [];
          break;
        case 'insert':
          if (msg.relation.schema === this.o.schema && msg.relation.name === this.o.table) (this.open ??= []).push(decodeInsert(msg.new));
          break;
        case 'commit': {
          const rows = this.open ?? [];
          this.open = undefined;
          const endLsn = parseLsn(msg.commitEndLsn!);
          // The broken variant (negative control) confirms the transaction now; its rows count against a dummy entry.
          const unsafe = this.o.unsafeConfirmOnReceipt === true;
          const confirmed = this.confirmations.commit(endLsn, unsafe ? 0 : rows.length);
          const tx = unsafe ? { endLsn, remaining: rows.length } : confirmed;
          for (const row of rows) {
            const s: StreamedRow = { row, tx, acked: false, settled: false };
            this.byRow.set(row, s);
            this.pending.push(s);
          }
          if (unsafe) this.statusSoon();
          this.unsettled += rows.length;
          if (endLsn > this.receivedLsn) this.receivedLsn = endLsn;
          if (rows.length === 0 && this.confirmations.confirmed > this.sentLsn) this.statusSoon();
          if (!this.paused && this.unsettled >= this.o.maxPending) this.pause();
          this.o.onActivity();
          break;
        }
        default:
          // relation, type, origin, message, truncate (not published: publish = 'insert'): nothing to publish.
          break;
      }
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'could not decode a message of the replication stream; reconnecting');
      this.end(err as Error);
    }
  }

  private onKeepalive(lsnText: string, shouldRespond: boolean): void {
    this.lastHeard = Date.now();
    // Between transactions only: everything decoded before this position has been received.
    if (this.open === undefined) {
      const lsn = parseLsn(lsnText);
      if (lsn > this.receivedLsn) this.receivedLsn = lsn;
      const before = this.confirmations.confirmed;
      this.confirmations.marker(lsn);
      if (this.confirmations.confirmed > before) this.statusSoon();
    }
    if (shouldRespond) this.sendStatus(false);
    this.o.onActivity();
  }

  private statusSoon(): void {
    this.statusDue ??= setTimeout(() => {
      this.statusDue = undefined;
      this.sendStatus(false);
    }, 20);
  }

  /** Standby status update: written, flushed and applied = the confirmed LSN. */
  private sendStatus(ping: boolean): void {
    if (!this.alive) return;
    const lsn = this.confirmations.confirmed;
    if (lsn <= 0n) return;
    // The library reports lsn + 1 (it takes the LSN of the last byte received). PostgreSQL skips, after a restart,
    // every transaction whose commit record STARTS before the confirmed LSN, and the next transaction's may start
    // exactly at this one's end: report exactly `lsn`.
    void this.service.acknowledge(formatLsn(lsn - 1n), ping).catch(() => {});
    if (lsn > this.sentLsn) {
      this.sentLsn = lsn;
      this.o.log.debug({ lsn: formatLsn(lsn) }, 'confirmed');
    }
  }

  private socket(): { pause(): void; resume(): void } | undefined {
    // The library's own backpressure (flowControl) takes keepalives out of order with the data; the relay pauses
    // the socket itself, as the library does (its connection's stream).
    return (this.service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } })._connection?.stream;
  }

  private pause(): void {
    this.paused = true;
    this.o.log.debug({ unsettled: this.unsettled }, 'replication stream paused until rows are acknowledged');
    this.socket()?.pause();
  }

  private resume(): void {
    this.paused = false;
    this.lastHeard = Date.now();
    this.socket()?.resume();
  }
}
