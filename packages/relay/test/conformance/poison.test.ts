/**
 * A poison message — larger than the topic's max.message.bytes, so Kafka refuses it every time — is isolated:
 * its attempts are counted, after maxAttempts it moves to outbox_dead_letters, the later messages of ITS key
 * wait in the outbox (strict per-key order), and every other key keeps flowing. Once the cause is fixed,
 * `dead-letters replay` puts it back at its original place and the key's order resumes; `discard` drops it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigResourceTypes } from 'kafkajs';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue, pgExecutor, replayDeadLetter } from '@dual-write/outbox';
import type { RelayEvents, RelayPublisherFactory } from '../../src/index.ts';
import { activePair } from './pairs.ts';
import { auditItems, cleanupRelays, migrateForTests, nextEvent, outboxCount, relayOn, REPO_ROOT, resetTables, writeItems } from '../helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = lab.kafka().admin();
  await admin.connect();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  await admin.disconnect();
}

async function deadLettersCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'packages/relay/src/bin-dead-letters.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: lab.db.url } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('poison messages', () => {
  it('dead-letters after N refusals, parks only its key, and replay/discard resume it', async () => {
    const topic = await lab.topic('poison', 3);
    await setMaxMessageBytes(topic, 20_000);
    const relay = await relayOn(lab, topic, { maxAttempts: 3, attemptBackoff: { initialMs: 100, maxMs: 200 } });
    const failed: RelayEvents['failed'][0][] = [];
    const dead: RelayEvents['dead-lettered'][0][] = [];
    relay.events.on('failed', (f) => failed.push(f));
    relay.events.on('dead-lettered', (d) => dead.push(d));
    const pool = lab.pool({ max: 2 });
    const c = await pool.connect();

    // "bad": n=1 is 50 kB (> 20 kB); "bad2": m=0 is. Good keys around them, in the same transactions.
    const good = (n: number) => ['g0', 'g1', 'g2', 'g3'].map((key) => ({ key, n }));
    const written = [
      ...(await writeItems(c, [...good(0), { key: 'bad', n: 0 }, { key: 'bad', n: 1, bytes: 50_000 }, { key: 'bad2', n: 0, bytes: 50_000 }])),
      ...(await writeItems(c, [...good(1), { key: 'bad', n: 2 }, { key: 'bad2', n: 1 }, { key: 'bad', n: 3 }])),
    ];
    const twoDead = nextEvent<number>((fn) => {
      const h = () => fn(dead.length);
      relay.events.on('dead-lettered', h);
      return () => relay.events.off('dead-lettered', h);
    }, 'two dead letters', 30_000, (n) => n === 2);
    await twoDead;
    // Other keys keep flowing while "bad" and "bad2" are parked.
    written.push(...(await writeItems(c, good(2))));
    await relay.waitUntilDrained();
    c.release();

    const badN1 = written.find((w) => w.key === 'bad' && w.n === 1)!;
    const bad2M0 = written.find((w) => w.key === 'bad2' && w.n === 0)!;
    expect(failed.filter((f) => f.aggregateId === 'bad').map((f) => f.attempts)).toEqual([1, 2]);
    expect(dead.map((d) => d.aggregateId).sort()).toEqual(['bad', 'bad2']);
    expect(dead[0]!.error).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
    const parked = await pool.query('select aggregateid, payload->>\'n\' as n from outbox o order by o.position');
    expect(parked.rows).toEqual([{ aggregateid: 'bad', n: '2' }, { aggregateid: 'bad2', n: '1' }, { aggregateid: 'bad', n: '3' }]);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toContain('outbox_parked_keys 2');
    expect(metrics).toContain('outbox_dead_letters 2');
    expect(metrics).toContain('outbox_dead_lettered_total 2');
    expect(metrics).toMatch(/outbox_failed_total\{reason="MESSAGE_TOO_LARGE"\} 6|outbox_failed_total\{reason="RECORD_LIST_TOO_LARGE"\} 6/);

    // The CLI shows them, with what waits behind each.
    const list = await deadLettersCli('list', '--database-url', lab.db.url);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('2 dead letter(s)');
    expect(list.stdout).toMatch(new RegExp(`item/bad .*\\n\\s+waiting behind it: 2 message\\(s\\)`));
    const ids = (JSON.parse((await deadLettersCli('list', '--json', '--database-url', lab.db.url)).stdout) as { id: string; aggregateid: string }[]);
    const badId = ids.find((d) => d.aggregateid === 'bad')!.id;
    const bad2Id = ids.find((d) => d.aggregateid === 'bad2')!.id;

    // Fix the cause, then replay "bad" (it goes first again, n=2 and n=3 follow) and discard "bad2".
    await setMaxMessageBytes(topic, 1_048_588);
    const replay = await deadLettersCli('replay', badId, '--database-url', lab.db.url);
    expect(replay).toMatchObject({ code: 0 });
    expect(replay.stdout).toMatch(/Replayed .* back in the outbox at its original place/);
    const discard = await deadLettersCli('discard', bad2Id, '--database-url', lab.db.url);
    expect(discard.code).toBe(0);
    expect((await deadLettersCli('replay', badId, '--database-url', lab.db.url)).code).toBe(1); // gone already
    expect((await deadLettersCli('frobnicate')).code).toBe(2);
    expect((await deadLettersCli('--help')).stdout).toContain('Usage: outbox-dead-letters');

    await relay.waitUntilDrained();
    await relay.stop();
    expect(await outboxCount(lab)).toBe(0);

    // Per-key order by the writer's own counter n (json:n), not by the relay's outbox-sequence header, which a
    // replay at a new place would simply carry along (see the negative control below).
    const report = await auditItems(lab, topic, 'json:n');
    // Everything arrived, in per-key order (bad: 0, 1 (replayed), 2, 3), once — except the discarded message.
    expect(report.counts).toMatchObject({ rows: written.length, messages: written.length - 1, ghosts: 0, duplicates: 0, orderViolations: 0, withoutSequence: 0 });
    expect(report.blackHoles.map((b) => b.id)).toEqual([bad2M0.id]);
    expect(report.counts.entities).toBe(written.length - 1);
    expect(report.blackHoles.map((b) => b.id)).not.toContain(badN1.id);
  });

  it('replay restores the key’s order: the replayed message is published before the ones that waited behind it (negative control: a replay that appends at a new place fails the check)', async () => {
    /** One key: n=0, n=1 (too large: dead-lettered), then n=2, n=3 parked behind it; the cause fixed; `replay`; the audit by n. */
    const replayedInOrder = async (name: string, replay: (pool: pg.Pool, id: string) => Promise<unknown>) => {
      const topic = await lab.topic(name, 1);
      await setMaxMessageBytes(topic, 20_000);
      await resetTables(lab);
      const relay = await relayOn(lab, topic, { maxAttempts: 1 });
      const pool = lab.pool({ max: 2 });
      const dead = nextEvent<RelayEvents['dead-lettered'][0]>((fn) => (relay.events.on('dead-lettered', fn), () => relay.events.off('dead-lettered', fn)), 'the dead letter');
      const c = await pool.connect();
      await writeItems(c, [{ key: 'bad', n: 0 }, { key: 'bad', n: 1, bytes: 50_000 }]);
      const { id } = await dead;
      await writeItems(c, [{ key: 'bad', n: 2 }, { key: 'bad', n: 3 }]);
      c.release();
      await relay.waitUntilDrained(); // n=2 and n=3 wait behind the dead letter
      expect(await outboxCount(lab)).toBe(2);
      await setMaxMessageBytes(topic, 1_048_588);
      await replay(pool, id);
      await relay.waitUntilDrained();
      await relay.stop();
      const [byN, byHeader] = [await auditItems(lab, topic, 'json:n'), await auditItems(lab, topic, 'header:outbox-sequence')];
      expect(byN.counts).toMatchObject({ rows: 4, messages: 4, blackHoles: 0, duplicates: 0, withoutSequence: 0 });
      return { byN: byN.counts.orderViolations, byOutboxSequence: byHeader.counts.orderViolations };
    };

    expect(await replayedInOrder('replay-ok', (pool, id) => replayDeadLetter(pgExecutor(pool), id))).toEqual({ byN: 0, byOutboxSequence: 0 });

    // Broken on purpose (test code only): the dead letter goes back as a NEW row — a new transaction id and position.
    const appendAtTheEnd = (pool: pg.Pool, id: string) =>
      pool.query(
        `with d as (delete from outbox_dead_letters where id = $1 returning *)
         insert into outbox (id, aggregatetype, aggregateid, type, payload, headers, created_at) select id, aggregatetype, aggregateid, type, payload, headers, created_at from d`,
        [id],
      );
    const broken = await replayedInOrder('replay-appended', appendAtTheEnd);
    expect(broken.byN).toBe(1); // Kafka got 0, 2, 3, 1
    // The relay's outbox-sequence header follows the row's new place, so an order check on it cannot see this.
    expect(broken.byOutboxSequence).toBe(0);
  });

  it('a topic that does not exist: the messages routed to it are dead-lettered after N attempts, other topics flow', async () => {
    const topic = await lab.topic('alive', 1);
    const relay = await relayOn(lab, topic, { maxAttempts: 2, attemptBackoff: { initialMs: 50, maxMs: 100 }, topicFor: (type) => (type === 'ghost' ? `t.${lab.id}.missing` : topic) });
    const dead = nextEvent<RelayEvents['dead-lettered'][0]>((fn) => (relay.events.on('dead-lettered', fn), () => relay.events.off('dead-lettered', fn)), 'a dead letter');
    const pool = lab.pool({ max: 1 });
    const c = await pool.connect();
    await c.query('begin');
    await enqueue(pgExecutor(c), [
      { aggregateType: 'ghost', aggregateId: 'g-1', type: 'Haunted', payload: {} },
      { aggregateType: 'item', aggregateId: 'i-1', type: 'ItemWritten', payload: {} },
    ]);
    await c.query('commit');
    c.release();
    const d = await dead;
    await relay.waitUntilDrained();
    await relay.stop();
    expect(d).toMatchObject({ aggregateType: 'ghost', aggregateId: 'g-1' });
    expect(d.error).toMatch(/UNKNOWN_TOPIC_OR_PARTITION: Topic "t\..*\.missing" does not exist/);
    expect(relay.stats()).toMatchObject({ published: 1, deadLettered: 1 });
    expect(await outboxCount(lab)).toBe(0);
  });

  it('a refusal in a batch read ahead of: the batch read meanwhile is dropped, the refused key’s later rows wait, the rest flows once, in order', async () => {
    // A backlog in full batches of 4 (g0, g1, g2, bad), so the relay reads batch k+1 while batch k is in flight.
    // Batch 2 carries bad n=1 (too large, refused for a minute); batch 3, read meanwhile, carries bad n=2: it must
    // not be sent. The good partitions of batch 2's one request are written once despite the refusal.
    const topic = await lab.topic('poison-ahead', 3);
    await setMaxMessageBytes(topic, 20_000);
    const pool = lab.pool({ max: 1 });
    const c = await pool.connect();
    const written: Awaited<ReturnType<typeof writeItems>> = [];
    for (let n = 0; n < 10; n++) {
      written.push(...(await writeItems(c, ['g0', 'g1', 'g2', 'bad'].map((key) => ({ key, n, ...(key === 'bad' && n === 1 ? { bytes: 50_000 } : {}) })))));
    }
    c.release();
    // Kafka's refusals arrive 300 ms late, so the read ahead has surely returned before the refusal is recorded.
    const lateRefusals: RelayPublisherFactory = (ctx) => {
      const p = activePair().publisher(ctx);
      const late = <T>(call: () => Promise<T>) => call().catch(async (err: unknown) => {
        await new Promise((r) => setTimeout(r, 300));
        throw err;
      });
      const send = p.send.bind(p);
      p.send = (t, m) => late(() => send(t, m));
      const sendPartitions = p.sendPartitions?.bind(p);
      if (sendPartitions) p.sendPartitions = (r) => late(() => sendPartitions(r));
      return p;
    };
    const relay = await relayOn(lab, topic, { publisher: lateRefusals, rebalanceIntervalMs: 60_000, batchSize: 4, maxAttempts: 100, attemptBackoff: { initialMs: 60_000, maxMs: 60_000 } });
    const failed: RelayEvents['failed'][0][] = [];
    relay.events.on('failed', (f) => failed.push(f));
    await relay.waitUntilDrained();
    await relay.stop();

    const left = await pool.query<{ aggregateid: string; n: string }>("select aggregateid, payload->>'n' as n from outbox order by position");
    await pool.end();
    expect(left.rows).toEqual(Array.from({ length: 9 }, (_, i) => ({ aggregateid: 'bad', n: String(i + 1) })));
    expect(failed.map((f) => f.aggregateId)).toEqual(['bad']);
    const report = await auditItems(lab, topic, 'json:n');
    const waiting = new Set(written.filter((w) => w.key === 'bad' && w.n >= 1).map((w) => w.id));
    expect(report.counts).toMatchObject({ rows: 40, messages: 31, ghosts: 0, duplicates: 0, orderViolations: 0 });
    expect(new Set(report.blackHoles.map((b) => b.id))).toEqual(waiting);
  });
});
