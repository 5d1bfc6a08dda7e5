/**
 * One long transaction does not stop publishing. A session in ANOTHER database of the same server holds a
 * transaction id open (`BEGIN; SELECT pg_current_xact_id()`, a forgotten BEGIN, a long batch job, a migration)
 * while 100 outbox rows of other keys are committed here: all 100 reach Kafka while it is still open, in per-key
 * order. Negative control: a store with the cluster-wide horizon of earlier versions publishes none of them
 * until that transaction ends. And an open transaction here that wrote key k holds back k's rows only, named
 * as the blocker (pid, database, application_name, age) in the idle event, the metric and the log.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import type { Relay, RelayOptions } from '../../src/index.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, nextEvent, outboxCount, relayOn, resetTables, writeItems } from '../helpers.ts';
import { activePair } from './pairs.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

/** A session in another database of this server with a transaction id held open, until release(). */
async function openTransactionElsewhere(): Promise<{ pid: number; release: () => Promise<void> }> {
  const admin = lab.pool({ max: 1 });
  const other = `${lab.db.name}_other`.slice(0, 63);
  await admin.query(`drop database if exists "${other}"`);
  await admin.query(`create database "${other}"`);
  const client = new pg.Client({ connectionString: lab.db.url.replace(/\/[^/]+$/, `/${other}`), application_name: 'forgotten-begin' });
  await client.connect();
  await client.query('begin');
  await client.query('select pg_current_xact_id()');
  const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  return {
    pid,
    async release() {
      await client.query('rollback');
      await client.end();
      await admin.query(`drop database "${other}" with (force)`);
    },
  };
}

/** Counts what the relay publishes; `reached(n)` resolves once n messages are acknowledged. */
function publishedCounter(relay: Relay) {
  let total = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  relay.events.on('published', (p) => {
    total += p.count;
    for (const w of waiters.filter((w) => total >= w.n)) w.resolve();
  });
  return { get total() { return total; }, reached: (n: number) => (total >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))) };
}

async function hundredRowsWhileElsewhereOpen(name: string, opts: RelayOptions = {}) {
  const topic = await lab.topic(name, 3);
  const elsewhere = await openTransactionElsewhere();
  try {
    const relay = await relayOn(lab, topic, opts);
    const counter = publishedCounter(relay);
    const started = Date.now();
    const writer = new KeyedWriter(lab.pool({ max: 1 }), ['k1', 'k2', 'k3', 'k4', 'k5'], 5).start({ max: 100 });
    await writer.finished();
    // Either every row is published, or the relay reads and finds all of them held back: whichever comes first.
    const outcome = await Promise.race([
      counter.reached(100).then(() => 'published' as const),
      nextEvent<{ heldBack: number }>((fn) => (relay.events.on('idle', fn), () => relay.events.off('idle', fn)), 'an idle read with 100 rows held back', 60_000, (i) => i.heldBack === 100).then(() => 'held back' as const),
    ]);
    const whileOpen = { outcome, published: counter.total, ms: Date.now() - started };
    const stillOpen = (await lab.pool({ max: 1 }).query('select count(*)::int as n from pg_stat_activity where pid = $1 and backend_xid is not null', [elsewhere.pid])).rows[0].n === 1;
    await elsewhere.release();
    await relay.waitUntilDrained();
    await relay.stop();
    const report = await auditItems(lab, topic);
    return { ...whileOpen, stillOpen, audit: report.counts };
  } catch (err) {
    await elsewhere.release().catch(() => {});
    throw err;
  }
}

describe('a long transaction elsewhere', () => {
  it('an open transaction in another database holds back nothing: 100 rows of other keys reach Kafka while it stays open, in per-key order', async () => {
    const r = await hundredRowsWhileElsewhereOpen('elsewhere');
    console.log(`[long transaction elsewhere] ${r.published} of 100 published while it stayed open, in ${r.ms} ms`);
    expect([r.outcome, r.published, r.stillOpen]).toEqual(['published', 100, true]);
    expect(r.audit).toMatchObject({ rows: 100, messages: 100, blackHoles: 0, ghosts: 0, duplicates: 0, orderViolations: 0 });
  });

  it('negative control: a store with the cluster-wide horizon of earlier versions publishes none of them until that transaction ends', async () => {
    const r = await hundredRowsWhileElsewhereOpen('elsewhere-horizon', { store: activePair().storeWithClusterWideHorizon });
    expect([r.outcome, r.published, r.stillOpen]).toEqual(['held back', 0, true]);
    // …and once it ended, everything was published: held back, never lost.
    expect(r.audit).toMatchObject({ rows: 100, messages: 100, blackHoles: 0, duplicates: 0 });
  });
});

describe('a long transaction here', () => {
  it('holds back only the rows of the keys it wrote, names itself as the blocker (idle event, metric, log), and releases them when it ends', async () => {
    const topic = await lab.topic('here', 3);
    const relay = await relayOn(lab, topic);
    const counter = publishedCounter(relay);
    const pool = lab.pool({ max: 3 });
    const long = await pool.connect();
    await long.query("set application_name = 'long-batch-job'");
    const longPid = (await long.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    await long.query('begin');
    const id = randomUUID();
    await long.query("insert into items (id, key, n) values ($1, 'stuck', 0)", [id]);
    await enqueue(pgExecutor(long), { aggregateType: 'item', aggregateId: 'stuck', type: 'ItemWritten', payload: { id, key: 'stuck', n: 0 } });
    try {
      // Another writer commits a row of the same key (after the open one: n = 1) and rows of other keys.
      const writer = await pool.connect();
      await writeItems(writer, [{ key: 'stuck', n: 1 }]);
      await writeItems(writer, Array.from({ length: 20 }, (_, i) => ({ key: `free${i % 4}`, n: Math.floor(i / 4) })));
      writer.release();
      await counter.reached(20);
      const idle = await nextEvent<{ heldBack: number; blockers: { pid: number; database: string; applicationName: string; transactionAgeSeconds: number }[] }>(
        (fn) => (relay.events.on('idle', fn), () => relay.events.off('idle', fn)), 'an idle read reporting the held-back row', 30_000, (i) => i.heldBack === 1,
      );
      expect(counter.total).toBe(20);
      expect(idle.blockers).toEqual([expect.objectContaining({ pid: longPid, database: lab.db.name, applicationName: 'long-batch-job' })]);
      expect(idle.blockers[0]!.transactionAgeSeconds).toBeGreaterThanOrEqual(0);
      const metrics = await relay.metrics.metrics();
      expect(metrics).toMatch(new RegExp(`outbox_held_back_rows 1\\b`));
      expect(metrics).toMatch(new RegExp(`outbox_blocking_transaction_age_seconds\\{pid="${longPid}",database="${lab.db.name}",application_name="long-batch-job"\\}`));
      await long.query('commit');
    } finally {
      await long.query('rollback').catch(() => {});
      long.release();
    }
    await relay.waitUntilDrained();
    await relay.stop();
    expect(counter.total).toBe(22);
    expect(await outboxCount(lab)).toBe(0);
    // 'stuck' n=0 (the long transaction, lower position) reaches Kafka before n=1.
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 22, messages: 22, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });
});
