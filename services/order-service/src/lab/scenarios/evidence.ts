/**
 * What a scenario report rests on, read from the sources of truth and never from the service's own memory:
 * the database (direct, no proxy), the downstream effect tables, and an independent audit of the topic.
 */
import pg from 'pg';
import { runAudit, type AuditReport } from '@dual-write/audit';
import type { LabConfig } from '@dual-write/config';

export interface Effects {
  shipments: { outcome: string; callbackStatus: number }[];
  invoices: { outcome: string; callbackStatus: number }[];
}

export class Evidence {
  private readonly pool: pg.Pool;

  constructor(
    private readonly config: LabConfig,
    /** The database the service writes to, reached directly (not through the proxy). */
    private readonly directDatabaseUrl: string,
    private readonly topic: string,
  ) {
    this.pool = new pg.Pool({ connectionString: directDatabaseUrl, max: 2 });
    this.pool.on('error', () => {});
  }

  async orderExists(orderId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('select 1 from orders where id = $1', [orderId]);
    return (rowCount ?? 0) > 0;
  }

  async effects(orderId: string): Promise<Effects> {
    const q = (table: string) =>
      this.pool.query<{ outcome: string; callback_status: number }>(`select outcome, callback_status from ${table} where order_id = $1 order by id`, [orderId]);
    const [s, i] = await Promise.all([q('shipments'), q('invoices')]);
    const map = (r: { outcome: string; callback_status: number }) => ({ outcome: r.outcome, callbackStatus: r.callback_status });
    return { shipments: s.rows.map(map), invoices: i.rows.map(map) };
  }

  /** Waits (polling the effect tables) until shipping and billing both handled the order, or the deadline passes. */
  async waitForEffects(orderId: string, timeoutMs: number): Promise<Effects & { timedOut: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.effects(orderId);
      if (e.shipments.length > 0 && e.invoices.length > 0) return { ...e, timedOut: false };
      if (Date.now() > deadline) return { ...e, timedOut: true };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Outbox rows still waiting for the relay, among the given event ids. */
  async outboxRows(eventIds: string[]): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('select count(*)::int as n from outbox where id = any($1::uuid[])', [eventIds]);
    return rows[0]!.n;
  }

  /** Waits until the relay has published (and so deleted) the given outbox rows; returns how long it took. */
  async waitForOutboxDrained(eventIds: string[], timeoutMs: number): Promise<{ drained: boolean; ms: number }> {
    const t0 = Date.now();
    for (;;) {
      if ((await this.outboxRows(eventIds)) === 0) return { drained: true, ms: Date.now() - t0 };
      if (Date.now() - t0 > timeoutMs) return { drained: false, ms: Date.now() - t0 };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Reads the whole topic up to its high watermark and compares it with the orders table. */
  audit(graceMs = 0): Promise<AuditReport> {
    return runAudit({
      databaseUrl: this.directDatabaseUrl,
      table: 'orders',
      idColumn: 'id',
      createdAtColumn: 'created_at',
      topic: this.topic,
      brokers: this.config.kafka.brokers,
      entityId: 'key',
      eventId: 'header:id',
      graceMs,
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** The audit's findings about the given orders only (other traffic may share the table and topic). */
export function auditFor(report: AuditReport, orderIds: string[]) {
  const ids = new Set(orderIds);
  return {
    ghosts: report.ghosts.filter((g) => ids.has(g.entityId)).map((g) => ({ orderId: g.entityId, partition: g.partition, offset: g.offset })),
    blackHoles: report.blackHoles.filter((b) => ids.has(b.id)).map((b) => b.id),
    /** Messages appended before their order committed (only when the audit could check: prematureChecked). */
    premature: report.premature.filter((p) => ids.has(p.entityId)).map((p) => ({ orderId: p.entityId, partition: p.partition, offset: p.offset, leadMs: p.leadMs })),
    prematureChecked: report.prematureCheck.checked,
    prematureReason: report.prematureCheck.reason,
    topicTotals: { messages: report.counts.messages, ghosts: report.counts.ghosts, blackHoles: report.counts.blackHoles, duplicates: report.counts.duplicates, premature: report.counts.premature },
  };
}

/**
 * A consumer that recorded 'ghost' was answered 404. If the order exists now, it was not a ghost: the message
 * outran the order's commit (premature), and that consumer will never act on the order.
 */
export function classifyEffects(effects: Effects, orderExists: boolean): { ghost: number; premature: number } {
  const notFound = [...effects.shipments, ...effects.invoices].filter((e) => e.outcome === 'ghost').length;
  return orderExists ? { ghost: 0, premature: notFound } : { ghost: notFound, premature: 0 };
}
