/**
 * The relay as a real process, killed with SIGKILL five times mid-stream while a writer keeps committing:
 * afterwards every committed row is on the topic (no black hole). Duplicates are allowed (a kill between
 * Kafka's ack and the delete republishes) — counted, and every out-of-order message must be such a redelivery.
 * SIGTERM, by contrast, is graceful: exit 0, slots released.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { AuditReport } from '@dual-write/audit';
import type { Relay } from '../../src/index.ts';
import { auditItems, KeyedWriter, cleanupRelays, migrateForTests, outboxCount, relayEnv, relayOn, RelayProcess, resetTables } from '../helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

function childEnv(topic: string): Record<string, string> {
  return relayEnv(lab, topic, {
    RELAY_PORT: '0',
    RELAY_LOG_LEVEL: 'debug',
    RELAY_POLL_INTERVAL_MS: '200',
    RELAY_BATCH_SIZE: '50',
  });
}

const batchWithPublishes = (l: Record<string, unknown>) => l.msg === 'batch' && Number(l.published) > 0;

async function ownsEverySlot(relay: Relay): Promise<void> {
  // A killed process's session (and its slot locks) ends once PostgreSQL sees the socket close.
  for (let i = 0; relay.stats().ownedSlots.length < 32; i++) {
    if (i > 200) throw new Error(`the new relay owns only ${relay.stats().ownedSlots.length} slots`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      relay.events.once('slots', () => (clearTimeout(t), resolve()));
    });
  }
}

/** What the audit says was lost (committed, never on the topic) or invented (on the topic, never committed). */
function lostOrInvented(report: AuditReport): { blackHoles: number; ghosts: number } {
  return { blackHoles: report.counts.blackHoles, ghosts: report.counts.ghosts };
}

describe('relay process killed with SIGKILL', () => {
  it('five kill -9 mid-stream → every committed row published at least once; redeliveries counted', async () => {
    const topic = await lab.topic('crash', 6);
    const keys = Array.from({ length: 16 }, (_, i) => `account-${i}`);
    const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 2).start({ max: 20_000, paceMs: 8 });
    const kills: { batchesSeen: number; signal: string | null }[] = [];
    for (let i = 1; i <= 5; i++) {
      const relay = new RelayProcess(childEnv(topic));
      // Kill it at its i-th batch that published something: each time at a different point of the stream.
      let seen = 0;
      await relay.waitForLine((l) => batchWithPublishes(l) && ++seen >= i, `batch #${i} of relay process ${i}`, 60_000);
      // …plus a random few milliseconds, so some kills land while the next batch is in flight (randomised fault timing).
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      relay.child.kill('SIGKILL');
      const { signal } = await relay.exited;
      kills.push({ batchesSeen: seen, signal });
    }
    const written = await writer.stop();

    const relay = await relayOn(lab, topic);
    await ownsEverySlot(relay);
    await relay.waitUntilDrained({ timeoutMs: 60_000 });
    await relay.stop();
    expect(kills.map((k) => k.signal)).toEqual(Array(5).fill('SIGKILL'));
    expect(await outboxCount(lab)).toBe(0);

    const report = await auditItems(lab, topic);
    console.log(`[kill -9 ×5] written ${written.length}; audit ${JSON.stringify(report.counts)}`);
    expect(lostOrInvented(report)).toEqual({ blackHoles: 0, ghosts: 0 });
    expect(report.counts.rows).toBe(written.length);
    expect(report.counts.entities).toBe(written.length);
    // At-least-once: a message may come twice. An out-of-order message is always such a second delivery.
    const redeliveries = new Set(report.duplicates.flatMap((d) => d.deliveries.slice(1).map((l) => `${l.partition}:${l.offset}`)));
    expect(report.orderViolations.filter((v) => !redeliveries.has(`${v.partition}:${v.offset}`))).toEqual([]);
  });

  it('negative control: the same audit finds the loss when the killed relay deletes rows before publishing them', async () => {
    const topic = await lab.topic('crash-broken', 3);
    const writer = new KeyedWriter(lab.pool({ max: 2 }), ['k1', 'k2', 'k3', 'k4'], 2).start({ max: 200 });
    await writer.finished();
    const broken = new RelayProcess(childEnv(topic), [], 'packages/relay/test/fixtures/delete-before-publish.ts');
    const deleted = await broken.waitForLine((l) => l.msg === 'deleted before publishing', 'the broken relay to delete a batch', 60_000);
    broken.child.kill('SIGKILL');
    expect((await broken.exited).signal).toBe('SIGKILL');

    const relay = await relayOn(lab, topic);
    await relay.waitUntilDrained({ timeoutMs: 60_000 });
    await relay.stop();
    const report = await auditItems(lab, topic);
    expect(lostOrInvented(report)).toEqual({ blackHoles: Number(deleted.rows), ghosts: 0 });
  });

  it('SIGTERM: finishes the batch, releases its slots and exits 0', async () => {
    const topic = await lab.topic('sigterm', 3);
    const writer = new KeyedWriter(lab.pool({ max: 2 }), ['k1', 'k2', 'k3'], 2).start({ max: 200 });
    const relay = new RelayProcess(childEnv(topic));
    await relay.waitForLine(batchWithPublishes, 'a batch', 60_000);
    await writer.finished();
    relay.child.kill('SIGTERM');
    const exit = await relay.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(relay.lines.some((l) => l.msg === 'relay stopped')).toBe(true);
    const pool = lab.pool({ max: 1 });
    const sessions = await pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'outbox-relay%'");
    const locks = await pool.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())");
    expect([sessions.rows[0].n, locks.rows[0].n]).toEqual([0, 0]);
    // What it did not get to is still in the outbox, and a new relay publishes it: nothing is lost.
    const next = await relayOn(lab, topic);
    await next.waitUntilDrained();
    await next.stop();
    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 200, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
  });

  it('--help exits 0; a bad setting exits 2 with the setting, the problem and the fix', async () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = new RelayProcess(env, args);
        let out = '';
        p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        void p.exited.then(({ code }) => resolve({ code, out: out + p.stderr }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: outbox-relay');
    const bad = await run([], relayEnv(lab, 'any', { RELAY_BATCH_SIZE: 'lots' }));
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('[DW_RELAY_INVALID_OPTION] RELAY_BATCH_SIZE="lots" is not valid');
  });
});
