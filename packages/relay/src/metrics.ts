/**
 * The relay's Prometheus metrics, in a registry of its own (several relays can live in one process).
 * Counters are this instance's; the outbox gauges describe the whole table (every instance reports the same),
 * read with one query per scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OutboxStats } from './seams.ts';

export interface RelayMetrics {
  registry: Registry;
  /** The outbox figures of the gauges: one query, shared by a scrape and /health for 500 ms. */
  outboxStats: () => Promise<OutboxStats>;
  published: Counter<'topic'>;
  failed: Counter<'reason'>;
  deadLettered: Counter;
  kafkaRetries: Counter;
  batchDuration: Histogram;
  ownedSlots: Gauge;
  heldBack: Gauge;
  blockingTransactionAge: Gauge<'pid' | 'database' | 'application_name'>;
}

export function createMetrics(readStats: () => Promise<OutboxStats>): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One query serves all four gauges of a scrape (and /health asked at about the same time).
  let cached: { at: number; value: Promise<OutboxStats> } | undefined;
  const stats = () => {
    if (!cached || Date.now() - cached.at > 500) cached = { at: Date.now(), value: readStats() };
    return cached.value;
  };
  const gauge = (name: string, help: string, pick: (s: OutboxStats) => number) => databaseGauge(registry, name, help, async () => pick(await stats()));
  gauge('outbox_backlog_rows', 'Rows in the outbox not yet published (all instances; parked rows included).', (s) => s.backlog);
  gauge('outbox_oldest_unpublished_age_seconds', 'Age of the first row in publish order that is still in the outbox.', (s) => s.oldestAgeSeconds);
  gauge('outbox_parked_keys', 'Keys held back behind a failing message or a dead letter (strict per-key order).', (s) => s.parkedKeys);
  gauge('outbox_dead_letters', 'Rows in outbox_dead_letters (replay or discard them: outbox-dead-letters).', (s) => s.deadLetters);
  return {
    registry,
    outboxStats: stats,
    published: new Counter({ name: 'outbox_published_total', help: 'Messages published to Kafka (acknowledged with acks=all) by this instance.', labelNames: ['topic'], registers: [registry] }),
    failed: new Counter({ name: 'outbox_failed_total', help: 'Publish attempts Kafka refused for the message itself (counted towards dead-lettering).', labelNames: ['reason'], registers: [registry] }),
    deadLettered: new Counter({ name: 'outbox_dead_lettered_total', help: 'Messages this instance moved to outbox_dead_letters.', registers: [registry] }),
    kafkaRetries: new Counter({ name: 'outbox_kafka_retries_total', help: 'Produce requests retried because Kafka was unavailable (no attempt counted).', registers: [registry] }),
    batchDuration: new Histogram({
      name: 'outbox_batch_duration_seconds',
      help: 'Time to publish one batch (read to delete), including retries while Kafka is down.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    ownedSlots: new Gauge({ name: 'outbox_owned_slots', help: 'Key-hash slots this instance owns (publishes).', registers: [registry] }),
    heldBack: new Gauge({ name: 'outbox_held_back_rows', help: 'Committed rows of this instance\'s slots held back by an open transaction that wrote the same keys (at the last idle read).', registers: [registry] }),
    blockingTransactionAge: new Gauge({
      name: 'outbox_blocking_transaction_age_seconds',
      help: 'Age of each open transaction holding back committed rows of this instance (by backend pid, database, application_name); none while nothing is held back.',
      labelNames: ['pid', 'database', 'application_name'],
      registers: [registry],
    }),
  };
}

/** CDC mode's gauges (README, "CDC mode"), added to a relay's registry. */
export interface CdcMetrics {
  /** 1 while this instance streams from the slot, 0 while it is a standby (another instance has the slot). */
  active: Gauge;
}

/**
 * outbox_cdc_slot_lag_bytes (pg_current_wal_lsn() - confirmed_flush_lsn of the slot) and
 * outbox_cdc_retained_wal_bytes (pg_current_wal_lsn() - restart_lsn), read from pg_replication_slots at scrape time —
 * the same on every instance — and outbox_cdc_active.
 */
export function addCdcMetrics(registry: Registry, readLag: () => Promise<{ lagBytes: number; retainedBytes: number } | undefined>): CdcMetrics {
  const gauge = (name: string, help: string, pick: (l: { lagBytes: number; retainedBytes: number }) => number) =>
    databaseGauge(registry, name, help, async () => {
      const lag = await readLag();
      return lag ? pick(lag) : undefined;
    });
  gauge('outbox_cdc_slot_lag_bytes', 'CDC mode: WAL bytes between the server\'s current position and the replication slot\'s confirmed_flush_lsn (what the relay has not confirmed yet).', (l) => l.lagBytes);
  gauge('outbox_cdc_retained_wal_bytes', 'CDC mode: WAL bytes the replication slot keeps on disk (pg_current_wal_lsn() - restart_lsn).', (l) => l.retainedBytes);
  return {
    active: new Gauge({ name: 'outbox_cdc_active', help: 'CDC mode: 1 while this instance streams from the replication slot, 0 while it waits as a standby.', registers: [registry] }),
  };
}

/**
 * A gauge read from the database when scraped: `read()` gives the value (undefined: keep the last one). While the
 * database is unreachable the last value stays; /health says what is wrong.
 */
function databaseGauge(registry: Registry, name: string, help: string, read: () => Promise<number | undefined>): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      try {
        const value = await read();
        if (value !== undefined) this.set(value);
      } catch {
        // Database unreachable: leave the last value.
      }
    },
  });
}
