import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { formatReport, reportDiverges, runAudit, type AuditOptions, type AuditProgress } from '../src/index.ts';
import { options, ordersTable, produce } from './fixtures.ts';

const lab = useLab();

/** Runs the audit with a leak-tracked kafkajs client: the file fails if the audit left its admin or consumer connected. */
function audit(opts: AuditOptions, onProgress?: (p: AuditProgress) => void) {
  return runAudit(opts, { kafka: lab.kafka({ clientId: 'audit-under-test' }), onProgress });
}

describe('runAudit against the real PostgreSQL and Kafka', () => {
  it('clean: every row has its message and every message its row — no divergence, every partition read (an empty one too)', async () => {
    await ordersTable(lab, 'clean_orders', [{ id: 'o-1' }, { id: 'o-2' }, { id: 'o-3' }, { id: 'o-4' }, { id: 'o-5' }, { id: 'o-new', ageMs: 0 }]);
    const topic = await lab.topic('clean', 4);
    await produce(lab, topic, [
      { partition: 0, key: 'o-1', headers: { id: 'e-1' } },
      { partition: 1, key: 'o-2', headers: { id: 'e-2' } },
      { partition: 2, key: 'o-3', headers: { id: 'e-3' } },
      { partition: 0, key: 'o-4', headers: { id: 'e-4' } },
      { partition: 1, key: 'o-5', headers: { id: 'e-5' } },
    ]);

    const progress: AuditProgress[] = [];
    const report = await audit(options(lab, 'clean_orders', topic), (p) => progress.push(p));

    expect(reportDiverges(report)).toBe(false);
    expect(report.counts).toEqual({
      rows: 6, rowsPastGrace: 5, pendingWithinGrace: 1, messages: 5, partitions: 4, unreadable: 0, withoutEventId: 0,
      withoutSequence: 0, entities: 5, ghosts: 0, blackHoles: 0, duplicates: 0, extraDeliveries: 0, orderViolations: 0, orderViolationsByRedelivery: 0, premature: 0,
    });
    expect(report.partitions).toEqual([
      { partition: 0, low: 0, high: 2, messages: 2 },
      { partition: 1, low: 0, high: 2, messages: 2 },
      { partition: 2, low: 0, high: 1, messages: 1 },
      { partition: 3, low: 0, high: 0, messages: 0 },
    ]);
    expect(report.source).toMatchObject({ table: 'public.clean_orders', topic, entityId: 'key', eventId: 'header:id', sequence: null });
    expect(report.orderChecked).toBe(false);
    expect(progress.filter((p) => p.phase === 'partition').map((p) => p.text)).toHaveLength(4);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', rows: 6, messages: 5, partitionsDone: 4, partitions: 4 });
    expect(formatReport(report)).toMatch(/Result: CONSISTENT/);
  });

  it('ghost: a message whose entity has no row is reported with its partition and offset; a non-JSON message is counted unreadable', async () => {
    await ordersTable(lab, 'ghost_orders', [{ id: 'o-1' }, { id: 'o-2' }]);
    const topic = await lab.topic('ghost', 2);
    const order = (id: string) => ({ data: { order: { id, totalCents: 100 } } });
    await produce(lab, topic, [
      { partition: 0, key: 'k', value: order('o-1'), headers: { id: 'e-1' } },
      { partition: 1, key: 'k', value: order('o-2'), headers: { id: 'e-2' } },
      { partition: 1, key: 'k', value: order('o-ghost'), headers: { id: 'e-ghost' } },
      { partition: 0, key: 'k', value: 'not json', headers: { id: 'e-garbage' } },
    ]);

    const report = await audit(options(lab, 'ghost_orders', topic, { entityId: 'json:data.order.id' }));

    expect(report.ghosts).toEqual([{ entityId: 'o-ghost', eventId: 'e-ghost', partition: 1, offset: 1 }]);
    expect(report.counts).toMatchObject({ ghosts: 1, blackHoles: 0, duplicates: 0, messages: 4, unreadable: 1, entities: 3 });
    expect(report.unreadableSample).toEqual([{ partition: 0, offset: 1, reason: 'value is not JSON' }]);
    expect(reportDiverges(report)).toBe(true);
    expect(formatReport(report)).toMatch(/o-ghost\s+e-ghost\s+1\s+1/);
  });

  it('black hole: an old row without a message is reported; a row younger than the grace period is pending, not a black hole (schema-qualified table, custom columns, id from a header)', async () => {
    const pool = lab.pool();
    await pool.query('create schema sales');
    await pool.query('create table sales.purchases (purchase_ref text primary key, inserted_at timestamp not null)');
    await pool.query(`insert into sales.purchases values ('p-1', localtimestamp - interval '1 hour'), ('p-2', localtimestamp - interval '2 hours'), ('p-new', localtimestamp)`);
    await pool.end();
    const topic = await lab.topic('blackhole', 3);
    await produce(lab, topic, [{ partition: 2, key: null, headers: { entity: 'p-1', id: 'e-1' } }]);

    const report = await audit(options(lab, 'sales.purchases', topic, { idColumn: 'purchase_ref', createdAtColumn: 'inserted_at', entityId: 'header:entity' }));

    expect(report.blackHoles.map((b) => b.id)).toEqual(['p-2']);
    expect(report.blackHoles[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(report.counts).toMatchObject({ rows: 3, rowsPastGrace: 2, pendingWithinGrace: 1, blackHoles: 1, ghosts: 0, messages: 1 });
    expect(report.source.table).toBe('sales.purchases');
    expect(reportDiverges(report)).toBe(true);

    // With no grace at all, the young row is a black hole too.
    const strict = await audit(options(lab, 'sales.purchases', topic, { idColumn: 'purchase_ref', createdAtColumn: 'inserted_at', entityId: 'header:entity', graceMs: 0 }));
    expect(strict.blackHoles.map((b) => b.id)).toEqual(['p-2', 'p-new']);
  });

  it('duplicate: an event id delivered three times (in two partitions) is one duplicate with count 3 and every delivery', async () => {
    await ordersTable(lab, 'dup_orders', [{ id: 'o-1' }, { id: 'o-2' }]);
    const topic = await lab.topic('dup', 2);
    await produce(lab, topic, [
      { partition: 0, key: 'o-1', headers: { id: 'e-1' } },
      { partition: 1, key: 'o-2', headers: { id: 'e-2' } },
      { partition: 0, key: 'o-1', headers: { id: 'e-1' } },
      { partition: 1, key: 'o-1', headers: { id: 'e-1' } },
      { partition: 1, key: 'o-2' }, // no event id: left out of the duplicate check, counted
    ]);

    const report = await audit(options(lab, 'dup_orders', topic));

    expect(report.duplicates).toEqual([{ eventId: 'e-1', count: 3, deliveries: [{ partition: 0, offset: 0 }, { partition: 0, offset: 1 }, { partition: 1, offset: 1 }] }]);
    expect(report.counts).toMatchObject({ duplicates: 1, extraDeliveries: 2, withoutEventId: 1, ghosts: 0, blackHoles: 0 });
    expect(reportDiverges(report)).toBe(true);
  });

  it('order violation: within a partition, a key whose sequence goes down is reported once; other keys and other partitions are not; a redelivered event is told apart', async () => {
    await ordersTable(lab, 'accounts', [{ id: 'acct-1' }, { id: 'acct-2' }]);
    const topic = await lab.topic('order', 2);
    let n = 0;
    const msg = (partition: number, key: string, seq?: number) => ({ partition, key, value: seq === undefined ? { note: 'no seq' } : { seq }, headers: { id: `e-${++n}` } });
    await produce(lab, topic, [
      msg(0, 'acct-1', 1), // offset 0
      msg(0, 'acct-2', 1), // 1
      msg(0, 'acct-1', 2), // 2
      msg(0, 'acct-1', 4), // 3
      msg(0, 'acct-2', 2), // 4
      msg(0, 'acct-1', 3), // 5 ← went down from 4 (offset 3)
      msg(0, 'acct-1', 5), // 6
      msg(0, 'acct-1'), //    7  no sequence
      msg(1, 'acct-2', 1), // partition 1, offset 0: another partition, not compared with partition 0
      { partition: 0, key: 'acct-1', value: { seq: 4 }, headers: { id: 'e-4' } }, // 8 ← e-4 (offset 3) sent again: a redelivery
    ]);

    const report = await audit(options(lab, 'accounts', topic, { sequence: 'json:seq' }));

    expect(report.orderChecked).toBe(true);
    expect(report.orderViolations).toEqual([
      { key: 'acct-1', partition: 0, offset: 5, sequence: '3', previousOffset: 3, previousSequence: '4', redelivery: false },
      { key: 'acct-1', partition: 0, offset: 8, sequence: '4', previousOffset: 6, previousSequence: '5', redelivery: true },
    ]);
    expect(report.counts).toMatchObject({ orderViolations: 2, orderViolationsByRedelivery: 1, withoutSequence: 1, ghosts: 0, blackHoles: 0, duplicates: 1, messages: 10 });
    expect(reportDiverges(report)).toBe(true);

    const unchecked = await audit(options(lab, 'accounts', topic));
    expect(unchecked.orderChecked).toBe(false);
    expect(unchecked.orderViolations).toEqual([]);
    expect(unchecked.counts).toMatchObject({ orderViolations: 0, duplicates: 1 }); // without the order check, only the redelivered copy diverges
  });

  it('reads up to the high watermark even when it ends on a transaction marker, and does not count an aborted message', async () => {
    await ordersTable(lab, 'tx_orders', [{ id: 'o-committed' }]);
    const topic = await lab.topic('tx', 1);
    const producer = lab.kafka().producer({ transactionalId: `audit-tx-${lab.id}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'o-aborted', value: '{}', headers: { id: 'e-aborted' } }] });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ key: 'o-committed', value: '{}', headers: { id: 'e-committed' } }] });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    // The default path: the audit builds its own client from the broker list.
    const report = await runAudit(options(lab, 'tx_orders', topic));

    expect(report.partitions).toEqual([{ partition: 0, low: 0, high: 4, messages: 1 }]); // aborted, abort marker, committed, commit marker
    expect(report.counts).toMatchObject({ messages: 1, ghosts: 0, blackHoles: 0, duplicates: 0 });
    expect(reportDiverges(report)).toBe(false);
  });

  it('ghost vs premature: a message sent inside a transaction that rolled back is a ghost; one sent inside a transaction that committed later is premature (it was readable before its row); one sent after COMMIT is neither; of a row changed again, only its last event is held to its last commit', async () => {
    const topic = await lab.topic('premature', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const pool = lab.pool();
    await pool.query('create table early_orders (id text primary key, created_at timestamptz not null default now())');
    const producer = lab.kafka().producer();
    await producer.connect();
    const send = (key: string) => producer.send({ topic, acks: -1, messages: [{ key, value: '{}', headers: { id: `e-${key}` } }] });
    /** BEGIN → INSERT → send (acknowledged) → further work in the transaction → COMMIT or ROLLBACK. */
    const sendInside = async (id: string, end: 'commit' | 'rollback') => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query('insert into early_orders (id) values ($1)', [id]);
        await send(id);
        await client.query('select pg_sleep(0.005)'); // the transaction's further work, after Kafka's acknowledgement
        await client.query(end);
      } finally {
        client.release();
      }
    };
    try {
      await sendInside('o-ghost', 'rollback'); // offset 0: the row never committed
      await sendInside('o-early', 'commit'); //   offset 1: the row committed after the message was readable
      await pool.query(`insert into early_orders (id) values ('o-after')`);
      await send('o-after'); //                   offset 2: sent after COMMIT, like a relay
      // Streams: a row changed by a later transaction has that transaction's commit time. Its earlier event was
      // rightly on the topic before it (offsets 3, 4: not premature); a later event sent inside it is (offsets 5, 6).
      const sendEvent = (key: string, n: number) => producer.send({ topic, acks: -1, messages: [{ key, value: '{}', headers: { id: `e-${key}-${n}` } }] });
      await pool.query(`insert into early_orders (id) values ('o-stream')`);
      await sendEvent('o-stream', 1);
      await pool.query(`update early_orders set created_at = now() where id = 'o-stream'`);
      await sendEvent('o-stream', 2);
      await pool.query(`insert into early_orders (id) values ('o-stream-early')`);
      await sendEvent('o-stream-early', 1);
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(`update early_orders set created_at = now() where id = 'o-stream-early'`);
        await sendEvent('o-stream-early', 2);
        await client.query('select pg_sleep(0.005)');
        await client.query('commit');
      } finally {
        client.release();
      }
    } finally {
      await producer.disconnect();
      await pool.end();
    }

    const report = await audit(options(lab, 'early_orders', topic));

    expect(report.prematureCheck.checked).toBe(true);
    expect(report.ghosts.map((g) => g.entityId)).toEqual(['o-ghost']);
    expect(report.premature.map((p) => [p.entityId, p.eventId, p.offset])).toEqual([['o-early', 'e-o-early', 1], ['o-stream-early', 'e-o-stream-early-2', 6]]);
    expect(report.premature[0]).toMatchObject({ entityId: 'o-early', eventId: 'e-o-early', partition: 0, offset: 1 });
    expect(report.premature[0]!.leadMs).toBeGreaterThanOrEqual(1);
    expect(Date.parse(report.premature[0]!.committedAt)).toBeGreaterThan(Date.parse(report.premature[0]!.appendedAt));
    expect(report.counts).toMatchObject({ ghosts: 1, premature: 2, blackHoles: 0, messages: 7 });
    expect(reportDiverges(report)).toBe(true);
    expect(formatReport(report)).toMatch(/Premature — messages readable before their row committed[\s\S]*o-early\s+e-o-early\s+0\s+1/);

    // The same messages on a topic that keeps the producer's timestamps (CreateTime): the check cannot run, and says why.
    const createTime = await lab.topic('premature-createtime', 1);
    await produce(lab, createTime, [{ partition: 0, key: 'o-early', headers: { id: 'e-o-early' } }]);
    const unchecked = await audit(options(lab, 'early_orders', createTime));
    expect(unchecked.prematureCheck).toMatchObject({ checked: false });
    expect(unchecked.prematureCheck.reason).toMatch(/message\.timestamp\.type=LogAppendTime/);
    expect(unchecked.counts.premature).toBe(0);
    expect(formatReport(unchecked)).toMatch(/premature\s+-\s+not checked/);
  });

  it('an empty table and an empty topic are consistent', async () => {
    await ordersTable(lab, 'empty_orders', []);
    const topic = await lab.topic('empty', 3);
    const report = await audit(options(lab, 'empty_orders', topic));
    expect(report.counts).toMatchObject({ rows: 0, messages: 0, partitions: 3 });
    expect(reportDiverges(report)).toBe(false);
  });
});
