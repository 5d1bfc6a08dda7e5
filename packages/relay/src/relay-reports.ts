/**
 * What every relay mode reports the same way: a batch's outcome (counters, log lines, events), published rows, a
 * Kafka outage being ridden out, and an interruptible sleep that ends at stop()'s deadline.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { OutboxRow } from '@dual-write/outbox';
import type { BatchOutcome } from './batch-publisher.ts';
import type { RelayMetrics } from './metrics.ts';
import type { RelayEvents } from './relay.ts';

export interface ReportContext {
  counts: { published: number; failed: number; deadLettered: number; batches: number };
  m: Pick<RelayMetrics, 'batchDuration' | 'published'>;
  log: Logger;
  events: EventEmitter<RelayEvents>;
}

/** Counts, logs and emits a batch's outcome; `deadLetterNote` says what happens to the key behind a dead letter. */
export function reportBatch(c: ReportContext, rows: number, o: BatchOutcome, seconds: number, deadLetterNote: string): void {
  c.counts.batches++;
  c.counts.failed += o.failed.length;
  c.counts.deadLettered += o.deadLettered.length;
  c.m.batchDuration.observe(seconds);
  for (const f of o.failed) {
    c.log.warn({ id: f.row.id, aggregateType: f.row.aggregatetype, aggregateId: f.row.aggregateid, attempts: f.attempts, error: f.error }, 'Kafka refused a message; it will be retried, its key waits');
    c.events.emit('failed', { id: f.row.id, aggregateType: f.row.aggregatetype, aggregateId: f.row.aggregateid, attempts: f.attempts, error: f.error });
  }
  for (const f of o.deadLettered) {
    c.log.error({ id: f.row.id, aggregateType: f.row.aggregatetype, aggregateId: f.row.aggregateid, error: f.error }, deadLetterNote);
    c.events.emit('dead-lettered', { id: f.row.id, aggregateType: f.row.aggregatetype, aggregateId: f.row.aggregateid, error: f.error });
  }
  c.log.debug({ rows, published: o.published.length, failed: o.failed.length, deadLettered: o.deadLettered.length, parked: o.parked, ms: Math.round(seconds * 1000) }, 'batch');
  c.events.emit('batch', { rows, published: o.published.length, failed: o.failed.length, deadLettered: o.deadLettered.length, parked: o.parked, durationMs: seconds * 1000 });
}

/** Counts and emits rows Kafka acknowledged (and the outbox no longer holds). */
export function reportPublished(c: ReportContext, rows: OutboxRow[], topic: string): void {
  c.counts.published += rows.length;
  c.m.published.inc({ topic }, rows.length);
  c.events.emit('published', { count: rows.length, topic, total: c.counts.published, ids: rows.map((r) => r.id) });
}

/** Logs (the first attempt, then every 10th) and emits a Kafka outage the batch publisher is riding out. */
export function reportKafkaUnavailable(c: Pick<ReportContext, 'log' | 'events'>, error: string, retryInMs: number, attempt: number): void {
  if (attempt === 0 || attempt % 10 === 0) c.log.warn({ error, retryInMs, attempt }, 'Kafka unavailable; retrying the same batch');
  c.events.emit('kafka-unavailable', { error, retryInMs, attempt });
}

/** Sleeps ms, in steps, ending early once `stopDeadline()` (Infinity while not stopping) has passed. */
export async function sleepUntilStopDeadline(ms: number, stopDeadline: () => number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const left = Math.min(until, stopDeadline()) - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 250)));
  }
}
