/**
 * What the relay says about itself and how it lets go when it cannot finish:
 *  - /health: 200 `ok`; 200 `degraded` (kafka `down`) while Kafka is unreachable; 503 `down` while the database
 *    is; back to `ok` after each (packages/outbox README, "Metrics"), each with its `reasons`. The relay learns
 *    Kafka's state from its own requests (KafkaPublisher.state is the last known one), so the Kafka outage is
 *    checked with a row to publish: an idle relay keeps answering `ok` while Kafka is unreachable;
 *  - /health turns `degraded` on EVERY instance, with the reason, once the outbox's oldest unpublished row is
 *    older than healthMaxAgeSeconds — the age is the whole table's, so the instance that does not own the row's
 *    slot (and has no trouble of its own) says so too (packages/relay README, "Health and alerts");
 *  - waitUntilDrained({ timeoutMs }) rejects with DW_RELAY_DRAIN_TIMEOUT when it cannot drain (Kafka down), and
 *    the rows stay in the outbox;
 *  - stop() with shutdownTimeoutMs while the batch in flight cannot finish (Kafka down): stop() returns, the
 *    unsent rows stay in the outbox, and the next relay publishes them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { SLOT_SQL, type Relay, type RelayError, type RelayOptions } from '../src/index.ts';
import { auditItems, cleanupRelays, migrateForTests, outboxCount, relayOn, resetTables, writeItems } from './helpers.ts';
import { advisoryLocks, capturingLogger, healthUntil, relayEvent, type HealthAnswer } from './fault-helpers.ts';
import { activePair, brokenStore } from './conformance/pairs.ts';

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
    expect(ok).toMatchObject({ code: 200, body: { status: 'ok', reasons: [], database: 'up', kafka: 'up', ownedSlots: 32 } });

    // Kafka unreachable (the relay reaches it through the kafka proxy), with a row to publish.
    await lab.toxics.setEnabled('kafka', false);
    await commit('h', 1, 1);
    const degraded = await healthUntil(relay, 'degraded', (h) => h.body.status !== 'ok');
    expect(degraded).toMatchObject({ code: 200, body: { status: 'degraded', reasons: ['Kafka unreachable'], kafka: 'down', database: 'up' } });
    expect(degraded.body.oldestUnpublishedAgeSeconds).toBeGreaterThanOrEqual(0); // the row waiting, well under the default 60 s
    expect(await outboxCount(lab)).toBe(1);

    await lab.toxics.setEnabled('kafka', true);
    const back = await healthUntil(relay, 'ok after Kafka returned', (h) => h.body.status !== 'degraded');
    expect(back).toMatchObject({ code: 200, body: { status: 'ok', reasons: [], kafka: 'up', database: 'up' } });

    // The database unreachable: the proxy refuses connections and closes the open ones (the lock session too).
    await lab.toxics.setEnabled('postgres', false);
    const down = await healthUntil(relay, '503', (h) => h.code !== 200);
    expect(down).toMatchObject({ code: 503, body: { status: 'down', reasons: ['database unreachable'], database: 'down', oldestUnpublishedAgeSeconds: null } });

    const reclaimed = relayEvent(relay, 'slots', 'its 32 slots re-claimed', (s) => s.owned.length === 32);
    await lab.toxics.setEnabled('postgres', true);
    await reclaimed;
    const up = await healthUntil(relay, 'ok after the database returned', (h) => h.code === 200);
    expect(up).toMatchObject({ code: 200, body: { status: 'ok', reasons: [], database: 'up', ownedSlots: 32 } });

    await relay.waitUntilDrained({ timeoutMs: 30_000 });
    await relay.stop();
    expect(await outboxCount(lab)).toBe(0);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 2, messages: 2, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });
});

describe('/health and the age of the oldest unpublished row (the whole table: every instance)', () => {
  const AGE_REASON = /^oldest unpublished row is \d+\.\d s old \(threshold (\d+) s\)$/;
  const ageReasons = (h: HealthAnswer) => h.body.reasons.filter((r) => AGE_REASON.test(r));

  /** Resolves on the `slots` event (of either relay) after which each owns 16 of the 32 slots. */
  function sharedEvenly(relays: Relay[]): Promise<void> {
    const even = () => relays.every((r) => r.stats().ownedSlots.length === 16);
    return new Promise<void>((resolve, reject) => {
      const check = () => even() && done();
      const done = (err?: Error) => {
        clearTimeout(timer);
        for (const r of relays) r.events.off('slots', check);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error(`the slots were not shared 16/16: ${relays.map((r) => r.stats().ownedSlots.length).join('/')}`)), 30_000);
      for (const r of relays) r.events.on('slots', check);
      check();
    });
  }

  /** The slot of a key, by the relay's own SQL. */
  async function slotOf(key: string, slots = 32): Promise<number> {
    const pool = lab.pool({ max: 1 });
    try {
      return (await pool.query<{ slot: number }>(`select ${SLOT_SQL} as slot from (select $2::text as aggregateid) o`, [slots, key])).rows[0]!.slot;
    } finally {
      await pool.end();
    }
  }

  /**
   * Two relays sharing the 32 slots (16 each), both connected to Kafka: `owner` owns the slot of `key` and has
   * published a first row of it (the topic's metadata cached), `other` owns none of its rows and never sends.
   * Then Kafka is cut and a second row of `key` is committed: it cannot be published; `owner` has tried.
   */
  async function aRowThatCannotBePublished(name: string, key: string, opts: RelayOptions): Promise<{ owner: Relay; other: Relay }> {
    const topic = await lab.topic(name, 1);
    const relays = [await relayOn(lab, topic, { retryBackoff: { initialMs: 100, maxMs: 500 }, ...opts }), await relayOn(lab, topic, { retryBackoff: { initialMs: 100, maxMs: 500 }, ...opts })];
    await sharedEvenly(relays);
    const slot = await slotOf(key);
    const owner = relays.find((r) => r.stats().ownedSlots.includes(slot))!;
    const other = relays.find((r) => r !== owner)!;
    expect(other.stats().ownedSlots).not.toContain(slot);

    const published = relayEvent(owner, 'published', 'the first row published');
    await commit(key, 1);
    await published;
    await healthUntil(other, 'Kafka up (connected at start)', (h) => h.body.kafka === 'up');

    await lab.toxics.setEnabled('kafka', false);
    const refused = relayEvent(owner, 'kafka-unavailable', 'the second row failing to reach Kafka');
    await commit(key, 1, 1);
    await refused;
    return { owner, other };
  }

  /** Kafka back: the row is published, and both instances answer `ok` with no reason again. */
  async function recover(owner: Relay, other: Relay): Promise<void> {
    await lab.toxics.setEnabled('kafka', true);
    await owner.waitUntilDrained({ timeoutMs: 30_000 });
    for (const r of [owner, other]) {
      const ok = await healthUntil(r, 'ok again', (h) => h.body.status === 'ok');
      expect(ok).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } });
    }
    await Promise.all([owner.stop(), other.stop()]);
    expect(await outboxCount(lab)).toBe(0);
  }

  it('healthMaxAgeSeconds: 1 — a row that cannot be published makes /health degraded with the age on BOTH instances, the one not owning its slot included', async () => {
    const { owner, other } = await aRowThatCannotBePublished('age', 'aged', { healthMaxAgeSeconds: 1 });

    const o = await healthUntil(owner, 'the age reason on the owner', (h) => ageReasons(h).length > 0);
    expect(o).toMatchObject({ code: 200, body: { status: 'degraded', kafka: 'down', database: 'up' } });
    expect(o.body.reasons).toEqual(['Kafka unreachable', expect.stringMatching(AGE_REASON)]);
    expect(AGE_REASON.exec(ageReasons(o)[0]!)![1]).toBe('1');

    // The other instance: Kafka fine as far as it knows, the row not its own — degraded all the same, for the age alone.
    const n = await healthUntil(other, 'the age reason on the instance not owning the row', (h) => ageReasons(h).length > 0);
    expect(n).toMatchObject({ code: 200, body: { status: 'degraded', kafka: 'up', database: 'up' } });
    expect(n.body.reasons).toEqual([expect.stringMatching(AGE_REASON)]);
    expect(n.body.oldestUnpublishedAgeSeconds).toBeGreaterThan(1);
    console.log(`[health] owner: ${JSON.stringify(o.body.reasons)}; other: ${JSON.stringify(n.body.reasons)}`);

    await recover(owner, other);
  });

  it('a database that does not answer the age query does not hang /health: it answers `degraded`, the age unknown', async () => {
    // A store whose stats() never settles (a hung connection). Without the bound in health() the request never
    // returns and fetch's own 15 s abort fails the test.
    const hung = brokenStore(activePair().store, () => ({ stats: () => new Promise(() => {}) }));
    const relay = await relayOn(lab, await lab.topic('age-hung', 1), { store: hung });
    const res = await fetch(`${relay.url}/health`, { signal: AbortSignal.timeout(15_000) });
    const h: HealthAnswer = { code: res.status, body: (await res.json()) as HealthAnswer['body'] };
    expect(h).toMatchObject({ code: 200, body: { status: 'degraded', database: 'up', oldestUnpublishedAgeSeconds: null } });
    expect(h.body.reasons).toEqual(["oldest unpublished row's age unknown: the database did not answer within 1000 ms"]);
    await relay.stop();
  });

  it('negative control: with the default threshold (60 s) the same row, older than 1 s, leaves only Kafka on the owner and `ok` on the other', async () => {
    const { owner, other } = await aRowThatCannotBePublished('age-default', 'aged', {});
    expect(owner.options.healthMaxAgeSeconds).toBe(60);

    // An absence: checked once the row is older than the age that made the check above fail (bounded by the poll's timeout).
    const o = await healthUntil(owner, 'Kafka down and the row older than 2 s', (h) => h.body.kafka === 'down' && (h.body.oldestUnpublishedAgeSeconds ?? 0) > 2);
    expect(o).toMatchObject({ code: 200, body: { status: 'degraded', reasons: ['Kafka unreachable'], database: 'up' } });
    const n = await healthUntil(other, 'the row older than 2 s', (h) => (h.body.oldestUnpublishedAgeSeconds ?? 0) > 2);
    expect(n).toMatchObject({ code: 200, body: { status: 'ok', reasons: [], kafka: 'up', database: 'up' } });

    await recover(owner, other);
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
