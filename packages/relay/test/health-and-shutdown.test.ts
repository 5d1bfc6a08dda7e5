/**
 * What the relay says about itself and how it lets go when it cannot finish:
 *  - /health: 200 `ok`; 200 `degraded` (kafka `down`) while Kafka is unreachable; 503 `down` while the database
 *    is; back to `ok` after each (packages/outbox README, "Metrics"). The relay learns Kafka's state from its own
 *    requests (KafkaPublisher.state is the last known one), so the Kafka outage is checked with a row to publish:
 *    an idle relay keeps answering `ok` while Kafka is unreachable;
 *  - waitUntilDrained({ timeoutMs }) rejects with DW_RELAY_DRAIN_TIMEOUT when it cannot drain (Kafka down), and
 *    the rows stay in the outbox;
 *  - stop() with shutdownTimeoutMs while the batch in flight cannot finish (Kafka down): stop() returns, the
 *    unsent rows stay in the outbox, and the next relay publishes them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { RelayError } from '../src/index.ts';
import { auditItems, cleanupRelays, migrateForTests, outboxCount, relayOn, resetTables, writeItems } from './helpers.ts';
import { advisoryLocks, capturingLogger, healthUntil, relayEvent } from './fault-helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

/** Commits `count` items of one key (n from `from`) in one transaction; returns their ids. */
async function commit(key: string, count: number, from = 0): Promise<string[]> {
  const pool = lab.pool({ max: 1 });
  const c = await pool.connect();
  try {
    return (await writeItems(c, Array.from({ length: count }, (_, i) => ({ key, n: from + i })))).map((w) => w.id);
  } finally {
    c.release();
    await pool.end();
  }
}

describe('/health', () => {
  it('200 degraded (kafka down) while Kafka is unreachable, 503 down while the database is, ok again after each', async () => {
    const topic = await lab.topic('health', 1);
    const relay = await relayOn(lab, topic, { retryBackoff: { initialMs: 100, maxMs: 500 } });
    const published = relayEvent(relay, 'published', 'the first row published');
    await commit('h', 1);
    await published;
    const ok = await healthUntil(relay, 'ok with Kafka up', (h) => h.body.kafka === 'up');
    expect(ok).toMatchObject({ code: 200, body: { status: 'ok', database: 'up', kafka: 'up', ownedSlots: 32 } });

    // Kafka unreachable (the relay reaches it through the kafka proxy), with a row to publish.
    await lab.toxics.setEnabled('kafka', false);
    await commit('h', 1, 1);
    const degraded = await healthUntil(relay, 'degraded', (h) => h.body.status !== 'ok');
    expect(degraded).toMatchObject({ code: 200, body: { status: 'degraded', kafka: 'down', database: 'up' } });
    expect(await outboxCount(lab)).toBe(1);

    await lab.toxics.setEnabled('kafka', true);
    const back = await healthUntil(relay, 'ok after Kafka returned', (h) => h.body.status !== 'degraded');
    expect(back).toMatchObject({ code: 200, body: { status: 'ok', kafka: 'up', database: 'up' } });

    // The database unreachable: the proxy refuses connections and closes the open ones (the lock session too).
    await lab.toxics.setEnabled('postgres', false);
    const down = await healthUntil(relay, '503', (h) => h.code !== 200);
    expect(down).toMatchObject({ code: 503, body: { status: 'down', database: 'down' } });

    const reclaimed = relayEvent(relay, 'slots', 'its 32 slots re-claimed', (s) => s.owned.length === 32);
    await lab.toxics.setEnabled('postgres', true);
    await reclaimed;
    const up = await healthUntil(relay, 'ok after the database returned', (h) => h.code === 200);
    expect(up).toMatchObject({ code: 200, body: { status: 'ok', database: 'up', ownedSlots: 32 } });

    await relay.waitUntilDrained({ timeoutMs: 30_000 });
    await relay.stop();
    expect(await outboxCount(lab)).toBe(0);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 2, messages: 2, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });
});

describe('when the relay cannot drain', () => {
  it('waitUntilDrained({ timeoutMs }) rejects with DW_RELAY_DRAIN_TIMEOUT while Kafka is down; the rows stay; it drains once Kafka is back', async () => {
    const topic = await lab.topic('drain', 1);
    const relay = await relayOn(lab, topic, { retryBackoff: { initialMs: 100, maxMs: 500 } });
    await lab.toxics.setEnabled('kafka', false);
    await commit('d', 5);
    const err = (await relay.waitUntilDrained({ timeoutMs: 1500 }).then(
      () => undefined,
      (e: unknown) => e,
    )) as RelayError | undefined;
    expect(err).toBeDefined();
    expect(err!.code).toBe('DW_RELAY_DRAIN_TIMEOUT');
    expect(relay.stats().published).toBe(0);
    expect(await outboxCount(lab)).toBe(5);

    await lab.toxics.setEnabled('kafka', true);
    await relay.waitUntilDrained({ timeoutMs: 30_000 });
    await relay.stop();
    expect(await outboxCount(lab)).toBe(0);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 5, messages: 5, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });

  it('stop() with shutdownTimeoutMs while the batch cannot finish: it returns, the unsent rows stay, the next relay publishes them', async () => {
    const topic = await lab.topic('shutdown', 1);
    const SHUTDOWN_MS = 1000;
    const { logger, lines } = capturingLogger('info');
    const relay = await relayOn(lab, topic, { logger, shutdownTimeoutMs: SHUTDOWN_MS, retryBackoff: { initialMs: 100, maxMs: 500 } });
    const first = relayEvent(relay, 'published', 'the first row published');
    await commit('s', 1);
    await first; // the producer is connected: what follows is a batch in flight that cannot finish

    await lab.toxics.setEnabled('kafka', false);
    const retrying = relayEvent(relay, 'kafka-unavailable', 'the batch retrying');
    await commit('s', 10, 1);
    await retrying;

    // Without the deadline stop() would wait for Kafka as long as it is down (the test would time out).
    const t0 = Date.now();
    await relay.stop();
    console.log(`[shutdown] shutdownTimeoutMs ${SHUTDOWN_MS}: stop() returned after ${Date.now() - t0} ms with Kafka down (not asserted)`);

    expect(relay.stats().state).toBe('stopped');
    expect(lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('stop deadline passed'))).toMatchObject({ unsent: 10 });
    expect(await outboxCount(lab)).toBe(10); // nothing lost: the unsent rows wait
    expect(await advisoryLocks(lab)).toBe(0); // its slots are released

    await lab.toxics.setEnabled('kafka', true);
    const next = await relayOn(lab, topic);
    await next.waitUntilDrained({ timeoutMs: 30_000 });
    await next.stop();
    expect(await outboxCount(lab)).toBe(0);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 11, messages: 11, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });
});
