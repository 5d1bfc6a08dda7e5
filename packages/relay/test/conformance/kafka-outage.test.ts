/**
 * Kafka cut for 30 s under load (the `kafka` proxy disabled — the relay talks to Kafka through it): the relay
 * retries the same batch with backoff, never holding a database transaction while it waits; when Kafka
 * returns, everything is delivered once, in per-key order.
 */
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { auditItems, KeyedWriter, cleanupRelays, migrateForTests, nextEvent, outboxCount, relayOn, resetTables } from '../helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

const OUTAGE_MS = 30_000;

describe('Kafka unavailable for 30 s under load', () => {
  it('delivers everything afterwards in per-key order, and no relay session is ever idle in transaction', async () => {
    const topic = await lab.topic('outage', 6);
    const relay = await relayOn(lab, topic, { batchSize: 50, retryBackoff: { initialMs: 200, maxMs: 3000 } });
    const pool = lab.pool({ max: 3 });
    const keys = Array.from({ length: 12 }, (_, i) => `order-${i}`);
    const writer = new KeyedWriter(pool, keys, 2).start({ max: 5000, paceMs: 20 });

    await nextEvent<{ total: number }>((fn) => (relay.events.on('published', fn), () => relay.events.off('published', fn)), '40 messages published', 30_000, (p) => p.total >= 40);
    await lab.toxics.setEnabled('kafka', false);
    const outageStarted = Date.now();
    await once(relay.events, 'kafka-unavailable');
    const writtenAtOutage = writer.written.length;

    // Sample what the relay's sessions do while Kafka is away (this loop IS the 30 s outage).
    const samples: { sessions: number; idleInTransaction: number; inTransaction: number; proxyEnabled: boolean }[] = [];
    while (Date.now() - outageStarted < OUTAGE_MS) {
      const { rows } = await pool.query(
        `select count(*)::int as sessions,
                count(*) filter (where state like 'idle in transaction%')::int as "idleInTransaction",
                count(*) filter (where xact_start is not null and state <> 'active')::int as "inTransaction"
         from pg_stat_activity where datname = current_database() and application_name like 'outbox-relay%'`,
      );
      // Toxiproxy is shared: another run's stack set-up (`stack up` re-enables proxies) may end the outage early.
      // Keep it down for the whole 30 s, and say so in the log.
      const proxyEnabled = (await lab.toxics.proxy('kafka')).enabled;
      if (proxyEnabled) await lab.toxics.setEnabled('kafka', false);
      samples.push({ ...rows[0], proxyEnabled });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const backlogDuringOutage = await outboxCount(lab);
    const writtenDuringOutage = writer.written.length - writtenAtOutage;
    const publishedDuringOutage = relay.stats().published;
    await lab.toxics.setEnabled('kafka', true);

    const writtenAtRecovery = writer.written.length;
    await writer.reached(writtenAtRecovery + 100);
    const written = await writer.stop();
    await relay.waitUntilDrained({ timeoutMs: 90_000 });
    const stats = relay.stats();
    await relay.stop();

    expect(samples.length).toBeGreaterThan(1);
    // At least the lock/LISTEN session is always there (the pool may close idle connections while Kafka is away).
    expect(samples.filter((s) => s.sessions < 1)).toEqual([]);
    expect(samples.filter((s) => s.idleInTransaction > 0 || s.inTransaction > 0)).toEqual([]);
    // The writer kept committing while Kafka was away: every one of those rows waited in the outbox.
    expect(writtenDuringOutage).toBeGreaterThan(0);
    expect(backlogDuringOutage).toBeGreaterThanOrEqual(writtenDuringOutage);
    expect(await outboxCount(lab)).toBe(0);

    const report = await auditItems(lab, topic);
    const reEnabled = samples.filter((s) => s.proxyEnabled).length;
    console.log(`[outage] ${reEnabled ? `(another process re-enabled the proxy ${reEnabled}× — disabled again) ` : ''}written ${written.length}, backlog at the end of the outage ${backlogDuringOutage}, published before it ${publishedDuringOutage}, relay stats ${JSON.stringify({ published: stats.published, batches: stats.batches })}, audit ${JSON.stringify(report.counts)}`);
    expect(report.counts).toMatchObject({ rows: written.length, ghosts: 0, blackHoles: 0, orderViolations: 0, withoutSequence: 0 });
    expect(report.counts.duplicates).toBe(0); // the idempotent producer de-duplicated the retries
  });
});
