/**
 * Several relays at once: each key-hash slot has one owner at a time (a session-level advisory lock), the slots
 * are shared out fairly and re-shared when an instance joins or leaves — per-key order holds, nothing is
 * published twice on a graceful hand-over, and try-locks only, so no deadlock is possible.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { Relay } from '../../src/index.ts';
import { auditItems, KeyedWriter, cleanupRelays, migrateForTests, nextEvent, outboxCount, relayOn, resetTables } from '../helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

const keys = Array.from({ length: 24 }, (_, i) => `customer-${i}`);

function published(relay: Relay, atLeast: number): Promise<unknown> {
  return nextEvent<{ total: number }>((fn) => (relay.events.on('published', fn), () => relay.events.off('published', fn)), `${relay.instanceId} to publish ${atLeast}`, 30_000, (p) => p.total >= atLeast);
}

function settled(relays: Relay[]): Promise<void> {
  // Each instance settles on its fair share: ceil(32 / n) or one less.
  const fair = Math.ceil(32 / relays.length);
  const ok = () => relays.every((r) => r.stats().members === relays.length && r.stats().ownedSlots.length >= fair - 1) && relays.reduce((n, r) => n + r.stats().ownedSlots.length, 0) === 32;
  if (ok()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`slots did not settle: ${relays.map((r) => r.stats().ownedSlots.length).join('/')}`)), 20_000);
    const check = () => ok() && done();
    const done = (err?: Error) => {
      clearTimeout(timer);
      for (const r of relays) r.events.off('slots', check);
      if (err) reject(err);
      else resolve();
    };
    for (const r of relays) r.events.on('slots', check);
  });
}

async function deadlocks(): Promise<number> {
  const pool = lab.pool({ max: 1 });
  const { rows } = await pool.query('select deadlocks::int as n from pg_stat_database where datname = current_database()');
  await pool.end();
  return rows[0].n;
}

function expectDisjointCover(relays: Relay[]): void {
  const all = relays.flatMap((r) => r.stats().ownedSlots);
  expect(new Set(all).size).toBe(all.length); // no slot has two owners
  expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i));
}

describe('several relay instances', () => {
  it('two relays share the slots and deliver a keyed stream in per-key order, once', async () => {
    const topic = await lab.topic('two', 6);
    const [a, b] = [await relayOn(lab, topic, { instanceId: 'relay-a' }), await relayOn(lab, topic, { instanceId: 'relay-b' })];
    await settled([a, b]);
    expectDisjointCover([a, b]);
    const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 3).start({ max: 600 });
    await writer.finished();
    await Promise.all([a.waitUntilDrained(), b.waitUntilDrained()]);
    const shares = [a.stats().published, b.stats().published];
    await Promise.all([a.stop(), b.stop()]);

    expect(shares[0]! > 0 && shares[1]! > 0).toBe(true);
    expect(shares[0]! + shares[1]!).toBe(writer.written.length);
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 600, messages: 600, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    expect(await outboxCount(lab)).toBe(0);
  });

  it('three relays joining and one leaving mid-stream: slots re-shared, per-key order intact, nothing lost or doubled, no deadlock', async () => {
    const topic = await lab.topic('three', 6);
    const deadlocksBefore = await deadlocks();
    const a = await relayOn(lab, topic, { instanceId: 'relay-a' });
    // The writer keeps committing until every join and leave is done (stopped below), so each one really
    // happens mid-stream, however slow or fast the machine is.
    const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 3).start({ max: 100_000, paceMs: 2 });
    await published(a, 100);
    const b = await relayOn(lab, topic, { instanceId: 'relay-b' });
    await settled([a, b]);
    await published(b, 50);
    const c = await relayOn(lab, topic, { instanceId: 'relay-c' });
    await settled([a, b, c]);
    expectDisjointCover([a, b, c]);
    await published(c, 50);
    await b.stop(); // graceful: finishes its batch, releases its slots; a and c take them over
    await settled([a, c]);
    expectDisjointCover([a, c]);
    // a and c both go on publishing new commits after the hand-over, then the stream ends.
    await Promise.all([published(a, a.stats().published + 30), published(c, c.stats().published + 30)]);
    const written = await writer.stop();
    await Promise.all([a.waitUntilDrained(), c.waitUntilDrained()]);
    const shares = [a, b, c].map((r) => r.stats().published);
    await Promise.all([a.stop(), c.stop()]);

    expect(shares.every((n) => n > 0)).toBe(true);
    const report = await auditItems(lab, topic);
    console.log(`[three relays] written ${written.length}; published by a/b/c: ${shares.join('/')}; audit ${JSON.stringify(report.counts)}`);
    expect(report.counts).toMatchObject({ rows: written.length, messages: written.length, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    expect(await outboxCount(lab)).toBe(0);
    expect(await deadlocks()).toBe(deadlocksBefore);
  });

  it('refuses to join instances that use a different slot count (two counts would give a key two owners)', async () => {
    const topic = await lab.topic('mismatch', 1);
    const a = await relayOn(lab, topic, { slots: 32 });
    const err = await relayOn(lab, topic, { slots: 16 }).catch((e: { code?: string }) => e);
    await a.stop();
    expect(err).toMatchObject({ code: 'DW_RELAY_SLOTS_MISMATCH' });
  });
});
