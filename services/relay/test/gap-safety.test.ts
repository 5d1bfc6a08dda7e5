/**
 * "Never skips a committed row": a poller that remembers the last position it published skips a row whose
 * transaction took its position early and committed late (watermill#311). The relay reads only below the
 * oldest running transaction, so such a row is waited for, never skipped.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { auditItems, cleanupRelays, migrateForTests, resetTables, nextEvent, outboxCount, relayOn } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

/** Opens a transaction that writes one item + its message, and leaves it open. */
async function openWrite(client: pg.ClientBase, key: string, opts: { xidFirst?: boolean } = {}) {
  await client.query('begin');
  if (opts.xidFirst) await client.query('select pg_current_xact_id()');
  const id = randomUUID();
  const write = async () => {
    await client.query('insert into items (id, key, n) values ($1, $2, 0)', [id, key]);
    await enqueue(pgExecutor(client), { aggregateType: 'item', aggregateId: key, type: 'ItemWritten', payload: { id, key, n: 0 } });
    return (await client.query('select pg_current_xact_id()::text as xid')).rows[0].xid as string;
  };
  return { id, write, commit: () => client.query('commit'), rollback: () => client.query('rollback') };
}

async function topicMessageCount(topic: string): Promise<number> {
  const admin = lab.kafka().admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

describe('gap safety', () => {
  it('a transaction that commits after later ones is published, not skipped; a rolled-back one never is', async () => {
    const topic = await lab.topic('interleaved', 3);
    const relay = await relayOn(lab, topic);
    const pool = lab.pool({ max: 6 });
    const [c1, c2, c3, c4, c5] = await Promise.all([1, 2, 3, 4, 5].map(() => pool.connect()));

    const a = await openWrite(c1!, 'a'); //          lowest xid and position, commits LAST
    await a.write();
    const b = await openWrite(c2!, 'b'); //          higher xid and position, commits first
    await b.write();
    await b.commit();
    const c = await openWrite(c3!, 'c'); //          rolled back
    await c.write();
    await c.rollback();
    const d = await openWrite(c4!, 'd', { xidFirst: true }); // takes its xid before e, its position after e
    const e = await openWrite(c5!, 'e');
    await e.write();
    await e.commit();
    await d.write();
    await d.commit();

    // b, d and e are committed, but a transaction older than them is still open: the relay sees them and waits.
    await nextEvent<{ heldBack: number }>((fn) => (relay.events.on('idle', fn), () => relay.events.off('idle', fn)), 'the relay to hold back 3 rows', 30_000, (i) => i.heldBack === 3);
    expect(await topicMessageCount(topic)).toBe(0);

    await a.commit();
    await relay.waitUntilDrained();
    await relay.stop();
    for (const client of [c1, c2, c3, c4, c5]) client!.release();

    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: 4, messages: 4, ghosts: 0, blackHoles: 0, duplicates: 0 });
    expect(await outboxCount(lab)).toBe(0);
  });

  it('many concurrent writers committing and rolling back in every interleaving: every committed row exactly once, nothing rolled back', async () => {
    const topic = await lab.topic('concurrent', 6);
    const relay = await relayOn(lab, topic, { batchSize: 25 });
    const pool = lab.pool({ max: 8 });
    let committed = 0;
    let rolledBack = 0;
    const writer = async (w: number) => {
      const client = await pool.connect();
      try {
        for (let t = 0; t < 40; t++) {
          const key = `w${w}-k${t % 5}`;
          const tx = await openWrite(client, key, { xidFirst: t % 3 === 0 });
          // Hold some transactions open while the others commit (and the relay reads).
          if (t % 4 === 0) await new Promise((r) => setTimeout(r, 5 + ((w * 7 + t) % 15)));
          await tx.write();
          if ((w + t) % 7 === 0) {
            await tx.rollback();
            rolledBack++;
          } else {
            await tx.commit();
            committed++;
          }
        }
      } finally {
        client.release();
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(writer));
    await relay.waitUntilDrained();
    await relay.stop();

    const report = await auditItems(lab, topic);
    expect(rolledBack).toBeGreaterThan(0);
    expect(report.counts).toMatchObject({ messages: committed, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    expect(await outboxCount(lab)).toBe(0);
  });
});
