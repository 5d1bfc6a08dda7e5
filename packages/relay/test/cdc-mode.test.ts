/**
 * CDC mode (README, "CDC mode"): the relay streams the outbox's inserts from a logical replication slot (pgoutput)
 * instead of reading the table. Real PostgreSQL (wal_level=logical), Kafka and Toxiproxy; every slot a test creates
 * is dropped after it (a slot retains WAL, and a database with a slot cannot be dropped).
 */
import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue, pgExecutor, replayDeadLetter } from '@dual-write/outbox';
import { startRelay, type Relay, type RelayEvents, type RelayOptions } from '../src/index.ts';
import { formatLsn, parseLsn } from '../src/stores/postgres-cdc/lsn.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, nextEvent, outboxCount, relayEnv, RelayProcess, resetTables, writeItems } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
const slots = new Set<string>();
const relays = new Set<Relay>();
let admin: pg.Pool;

beforeEach(async () => {
  await resetTables(lab);
  admin ??= lab.pool({ max: 2 });
});

afterEach(async () => {
  await cleanupRelays();
  await Promise.all([...relays].map((r) => r.stop().catch(() => {})));
  relays.clear();
  for (const slot of slots) await dropSlot(slot);
  slots.clear();
});

afterAll(async () => {
  // Belt and braces: a slot left by a failed test would retain WAL and keep the database from being dropped.
  for (const slot of slots) await dropSlot(slot).catch(() => {});
});

let slotCounter = 0;
/** A slot name of this test (slot names are cluster-wide: other runs and databases must not collide). */
function slotName(): string {
  const name = `cdc_${lab.id}_${++slotCounter}`.slice(0, 63);
  slots.add(name);
  return name;
}

/** Drops a slot, ending the walsender that still streams from it if any (a killed relay's, until PostgreSQL notices). */
async function dropSlot(slot: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await admin.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]);
      await admin.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot]);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100)); // the terminated walsender releases the slot as it exits
    }
  }
}

async function confirmedLsn(slot: string): Promise<bigint> {
  const { rows } = await admin.query<{ lsn: string | null }>('select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1', [slot]);
  if (!rows[0]?.lsn) throw new Error(`no slot ${slot}`);
  return parseLsn(rows[0].lsn);
}

/** Waits (polling the catalog: PostgreSQL has no event for it) until `check` holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A CDC relay on this file's database and topic, through the proxies (so faults hit it). */
async function cdcRelay(topic: string, slot: string, opts: RelayOptions = {}): Promise<Relay> {
  const relay = await startRelay({
    mode: 'cdc',
    cdcSlot: slot,
    database: lab.db.appUrl,
    brokers: lab.config.kafka.appBrokers,
    topic,
    port: 0,
    logLevel: (process.env.RELAY_TEST_LOG as RelayOptions['logLevel']) ?? 'silent',
    pollIntervalMs: 250,
    ...opts,
  });
  relays.add(relay);
  return relay;
}

interface Read {
  key: string;
  value: string;
  headers: Record<string, string>;
}

async function readTopic(topic: string, count: number, timeoutMs = 30_000): Promise<Read[]> {
  const consumer = lab.kafka().consumer({ groupId: `g-${lab.id}-${topic}-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const messages: Read[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${messages.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          messages.push({ key: String(message.key), value: String(message.value), headers });
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** The relay's bin (src/bin-relay.ts, the real one) in CDC mode, as a process. */
function cdcProcess(topic: string, slot: string, entry = 'packages/relay/src/bin-relay.ts'): RelayProcess {
  return new RelayProcess(relayEnv(lab, topic, { RELAY_MODE: 'cdc', RELAY_CDC_SLOT: slot, RELAY_PORT: '0', RELAY_LOG_LEVEL: 'debug', RELAY_POLL_INTERVAL_MS: '200', RELAY_BATCH_SIZE: '50' }), [], entry);
}

const batchWithPublishes = (l: Record<string, unknown>) => l.msg === 'batch' && Number(l.published) > 0;

describe('CDC mode: the relay streams the outbox inserts from a replication slot', () => {
  it('publishes every committed row once, per key in commit order; the table ends empty; slot lag and counters in /metrics', async () => {
    const topic = await lab.topic('order', 6);
    const slot = slotName();
    const relay = await cdcRelay(topic, slot, { batchSize: 40 });
    // The relay created the slot and the publication (publish = 'insert' only).
    const pub = await admin.query("select pubinsert, pubupdate, pubdelete, pubtruncate from pg_publication where pubname = $1", [slot]);
    expect(pub.rows).toEqual([{ pubinsert: true, pubupdate: false, pubdelete: false, pubtruncate: false }]);

    const writers = [0, 1].map((w) => new KeyedWriter(lab.pool({ max: 1 }), Array.from({ length: 6 }, (_, i) => `w${w}-k${i}`), 3).start({ max: 300 }));
    await Promise.all(writers.map((w) => w.finished()));
    const written = writers.flatMap((w) => w.written);
    await relay.waitUntilDrained({ timeoutMs: 60_000 });
    expect(relay.stats().published).toBe(written.length);
    expect(await outboxCount(lab)).toBe(0);

    const report = await auditItems(lab, topic);
    expect(report.counts).toMatchObject({ rows: written.length, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    // The relay's own sequence header follows the same order.
    expect((await auditItems(lab, topic, 'header:outbox-sequence')).counts.orderViolations).toBe(0);

    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/^outbox_cdc_slot_lag_bytes \d+/m);
    expect(metrics).toMatch(/^outbox_cdc_retained_wal_bytes \d+/m);
    expect(metrics).toContain('outbox_cdc_active 1');
    expect(metrics).toContain(`outbox_published_total{topic="${topic}"} ${written.length}`);
    const health = (await (await fetch(`${relay.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', mode: 'cdc', role: 'active' });
  });

  it('a writer that deletes its row in the same transaction (the table stays empty) is still published; a rollback is not', async () => {
    const topic = await lab.topic('deleted', 3);
    const slot = slotName();
    const relay = await cdcRelay(topic, slot);
    const c = await admin.connect();
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const payloads = [{ n: 0, text: 'é ünïcode "quoted" \\ back' }, { b: [1, 2], a: 1 }, 'a string'];
    try {
      await c.query('begin');
      await enqueue(pgExecutor(c), ids.map((id, i) => ({ id, aggregateType: 'item', aggregateId: 'k-del', type: 'ItemWritten', payload: payloads[i], headers: { traceparent: `tp-${i}` } })));
      await c.query('delete from outbox where id = any($1::uuid[])', [ids]);
      expect((await c.query('select count(*)::int as n from outbox')).rows[0].n).toBe(0);
      await c.query('commit');
      await c.query('begin');
      await enqueue(pgExecutor(c), [{ aggregateType: 'item', aggregateId: 'k-del', type: 'RolledBack', payload: {} }]);
      await c.query('rollback');
      // A marker after both, so "the rolled-back one was not published" is checked after the stream passed it.
      await enqueue(pgExecutor(c), [{ id: randomUUID(), aggregateType: 'item', aggregateId: 'k-del', type: 'Marker', payload: {} }]);
    } finally {
      c.release();
    }
    await relay.waitUntilDrained();
    const messages = await readTopic(topic, 4);
    expect(messages.map((m) => m.headers.type)).toEqual(['ItemWritten', 'ItemWritten', 'ItemWritten', 'Marker']);
    expect(messages.slice(0, 3).map((m) => m.headers.id)).toEqual(ids);
    // Byte for byte PostgreSQL's jsonb text form (what payload::text and Debezium give).
    const texts = await admin.query<{ t: string }>('select (x::jsonb)::text as t from unnest($1::text[]) x', [payloads.map((p) => JSON.stringify(p))]);
    expect(messages.slice(0, 3).map((m) => m.value)).toEqual(texts.rows.map((r) => r.t));
    expect(messages.slice(0, 3).map((m) => [m.key, m.headers.traceparent])).toEqual([['k-del', 'tp-0'], ['k-del', 'tp-1'], ['k-del', 'tp-2']]);
    expect(Number(messages[0]!.headers['outbox-position'])).toBeLessThan(Number(messages[2]!.headers['outbox-position']));
    expect(relay.stats().published).toBe(4);
    expect(await outboxCount(lab)).toBe(0);
  });
});

describe('CDC mode: slot safety', () => {
  it('while Kafka is cut the confirmed LSN stays before the unacknowledged rows (keepalives and other tables\' WAL do not move it); afterwards it passes them', async () => {
    const topic = await lab.topic('outage', 3);
    const slot = slotName();
    const relay = await cdcRelay(topic, slot, { retryBackoff: { initialMs: 100, maxMs: 500 } });
    const c = await admin.connect();
    try {
      // Something published first, so the slot has a confirmed position after the relay started.
      const first = await writeItems(c, [{ key: 'a', n: 0 }]);
      await relay.waitUntilDrained();

      await lab.toxics.setEnabled('kafka', false);
      // The position just before the transaction's commit record: confirming the transaction means going past it.
      await c.query('begin');
      const written = [...first];
      written.push(...(await writeItemsInOpenTx(c, [{ key: 'a', n: 1 }, { key: 'b', n: 0 }, { key: 'a', n: 2 }])));
      const beforeCommit = parseLsn((await c.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')).rows[0]!.lsn);
      await c.query('commit');
      // The relay received them and is retrying the request: they are in flight, unacknowledged.
      await nextEvent<{ attempt: number }>((fn) => (relay.events.on('kafka-unavailable', fn), () => relay.events.off('kafka-unavailable', fn)), 'Kafka unavailable', 30_000, (e) => e.attempt >= 1);
      // Lots of WAL from another table, and keepalives asked for (waitUntilDrained pings the walsender).
      await c.query('create table if not exists filler (n int)');
      for (let i = 0; i < 20; i++) await c.query('insert into filler values ($1)', [i]);
      await expect(relay.waitUntilDrained({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'DW_RELAY_DRAIN_TIMEOUT' });
      const samples: bigint[] = [];
      for (let i = 0; i < 3; i++) {
        await nextEvent<{ attempt: number }>((fn) => (relay.events.on('kafka-unavailable', fn), () => relay.events.off('kafka-unavailable', fn)), 'Kafka still unavailable');
        samples.push(await confirmedLsn(slot));
      }
      console.log(`[cdc outage] before commit ${formatLsn(beforeCommit)}; confirmed while Kafka was cut ${samples.map(formatLsn).join(', ')}`);
      expect(samples.filter((lsn) => lsn > beforeCommit)).toEqual([]);
      const metrics = await (await fetch(`${relay.url}/metrics`)).text();
      expect(Number(/^outbox_cdc_slot_lag_bytes (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(metrics).toContain('outbox_backlog_rows 3');

      await lab.toxics.setEnabled('kafka', true);
      await relay.waitUntilDrained({ timeoutMs: 60_000 });
      await until('the slot to confirm past the transaction', async () => (await confirmedLsn(slot)) > beforeCommit);
      const report = await auditItems(lab, topic);
      expect(report.counts).toMatchObject({ rows: written.length, ghosts: 0, blackHoles: 0, orderViolations: 0 });
    } finally {
      c.release();
    }
  });

  it('kill -9 of the relay process, 3 times mid-stream → every committed row published, out-of-order only as redeliveries', async () => {
    const topic = await lab.topic('crash', 6);
    const slot = slotName();
    // The slot exists before the writer starts (it streams only what commits after its creation: README, "CDC mode").
    await (await cdcRelay(topic, slot)).stop();
    const keys = Array.from({ length: 12 }, (_, i) => `account-${i}`);
    const writer = new KeyedWriter(lab.pool({ max: 1 }), keys, 2).start({ max: 6000, paceMs: 5 });
    const kills: (string | null)[] = [];
    for (let i = 1; i <= 3; i++) {
      const p = cdcProcess(topic, slot);
      let seen = 0;
      await p.waitForLine((l) => batchWithPublishes(l) && ++seen >= i * 2, `batch #${i * 2} of relay process ${i}`, 60_000);
      p.child.kill('SIGKILL');
      kills.push((await p.exited).signal);
    }
    const written = await writer.stop();
    const relay = await cdcRelay(topic, slot);
    await until('the new relay to take the slot', async () => relay.stats().ownedSlots.length > 0);
    await relay.waitUntilDrained({ timeoutMs: 60_000 });
    expect(kills).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    expect(await outboxCount(lab)).toBe(0);
    const report = await auditItems(lab, topic);
    console.log(`[cdc kill -9 ×3] written ${written.length}; audit ${JSON.stringify(report.counts)}`);
    expect(report.counts).toMatchObject({ rows: written.length, ghosts: 0, blackHoles: 0 });
    const redeliveries = new Set(report.duplicates.flatMap((d) => d.deliveries.slice(1).map((l) => `${l.partition}:${l.offset}`)));
    expect(report.orderViolations.filter((v) => !redeliveries.has(`${v.partition}:${v.offset}`))).toEqual([]);
  });

  /**
   * Kafka cut, rows received by the relay process, kill -9: with the relay's rule nothing is lost (the rows come
   * again from the slot); the negative control — a relay confirming each transaction on receipt — loses them all.
   */
  for (const variant of [
    { name: 'the relay (confirm after the ack): nothing lost', entry: 'packages/relay/src/bin-relay.ts', lost: false },
    { name: 'negative control — confirm on receipt: the rows in flight are lost', entry: 'packages/relay/test/fixtures/cdc-confirm-on-receipt.ts', lost: true },
  ]) {
    it(`kill -9 while Kafka is cut: ${variant.name}`, async () => {
      const topic = await lab.topic(variant.lost ? 'receipt' : 'ack', 3);
      const slot = slotName();
      // The slot exists (created by a relay that then stopped) before anything is written.
      await (await cdcRelay(topic, slot)).stop();
      await lab.toxics.setEnabled('kafka', false);
      const p = cdcProcess(topic, slot, variant.entry);
      await p.waitForLine((l) => l.msg === 'streaming from the replication slot', 'the relay to stream', 30_000);
      const c = await admin.connect();
      let beforeCommit: bigint;
      try {
        await c.query('begin');
        await writeItemsInOpenTx(c, Array.from({ length: 20 }, (_, n) => ({ key: `k${n % 4}`, n: Math.floor(n / 4) })));
        beforeCommit = parseLsn((await c.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')).rows[0]!.lsn);
        await c.query('commit');
      } finally {
        c.release();
      }
      // Received: the relay is retrying its request to Kafka (and the broken one has confirmed it already).
      await p.waitForLine((l) => l.msg === 'Kafka unavailable; retrying the same batch', 'the relay to try Kafka', 30_000);
      if (variant.lost) await until('the broken relay to confirm the transaction', async () => (await confirmedLsn(slot)) > beforeCommit);
      p.child.kill('SIGKILL');
      expect((await p.exited).signal).toBe('SIGKILL');
      if (!variant.lost) expect(await confirmedLsn(slot)).toBeLessThanOrEqual(beforeCommit);

      await lab.toxics.setEnabled('kafka', true);
      const relay = await cdcRelay(topic, slot);
      await until('the new relay to take the slot', async () => relay.stats().ownedSlots.length > 0);
      await relay.waitUntilDrained({ timeoutMs: 60_000 });
      const report = await auditItems(lab, topic);
      expect(report.counts).toMatchObject({ rows: 20, ghosts: 0, blackHoles: variant.lost ? 20 : 0 });
    });
  }

  it('one instance streams, a second stands by ("replication slot … is active for PID"), and takes over when the first stops', async () => {
    const topic = await lab.topic('standby', 3);
    const slot = slotName();
    const first = await cdcRelay(topic, slot);
    await until('the first relay to stream', async () => first.stats().ownedSlots.length > 0);
    const second = await cdcRelay(topic, slot);
    const c = await admin.connect();
    try {
      const written = await writeItems(c, [{ key: 'x', n: 0 }, { key: 'y', n: 0 }]);
      await first.waitUntilDrained();
      expect(second.stats().ownedSlots).toEqual([]);
      const health = (await (await fetch(`${second.url}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'ok', role: 'standby' });
      expect([first.stats().published, second.stats().published]).toEqual([2, 0]);

      const tookOver = nextEvent<RelayEvents['slots'][0]>((fn) => (second.events.on('slots', fn), () => second.events.off('slots', fn)), 'the standby to take the slot', 30_000, (e) => e.owned.length > 0);
      await first.stop();
      await tookOver;
      written.push(...(await writeItems(c, [{ key: 'x', n: 1 }, { key: 'y', n: 1 }])));
      await second.waitUntilDrained();
      expect(second.stats().published).toBe(2);
      const report = await auditItems(lab, topic);
      expect(report.counts).toMatchObject({ rows: 4, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    } finally {
      c.release();
    }
  });
});

describe('CDC mode: messages Kafka refuses', () => {
  it('dead-letters after maxAttempts; later rows of its key follow it into the dead letters (in order), other keys flow; replay in order publishes them in order', async () => {
    const topic = await lab.topic('poison', 3);
    const kafkaAdmin = lab.kafka().admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }] });
    await kafkaAdmin.disconnect();
    const slot = slotName();
    const relay = await cdcRelay(topic, slot, { maxAttempts: 3, attemptBackoff: { initialMs: 100, maxMs: 200 } });
    const failed: RelayEvents['failed'][0][] = [];
    relay.events.on('failed', (f) => failed.push(f));
    const c = await admin.connect();
    try {
      const dead = nextEvent<RelayEvents['dead-lettered'][0]>((fn) => (relay.events.on('dead-lettered', fn), () => relay.events.off('dead-lettered', fn)), 'a dead letter');
      const written = await writeItems(c, [{ key: 'bad', n: 0 }, { key: 'bad', n: 1, bytes: 50_000 }, { key: 'good', n: 0 }]);
      expect((await dead).aggregateId).toBe('bad');
      written.push(...(await writeItems(c, [{ key: 'bad', n: 2 }, { key: 'good', n: 1 }])));
      await relay.waitUntilDrained();
      expect(failed.filter((f) => f.aggregateId === 'bad').map((f) => f.attempts)).toEqual([1, 2]);
      const dl = await admin.query<{ aggregateid: string; n: string; attempts: number; error: string }>("select aggregateid, payload->>'n' as n, attempts, error from outbox_dead_letters order by position");
      expect(dl.rows.map((r) => [r.aggregateid, r.n])).toEqual([['bad', '1'], ['bad', '2']]);
      expect(dl.rows[0]!.error).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
      expect(dl.rows[1]!.error).toMatch(/^parked behind the dead letter/);
      expect(await outboxCount(lab)).toBe(0);
      let report = await auditItems(lab, topic);
      expect(report.counts).toMatchObject({ blackHoles: 2, ghosts: 0, orderViolations: 0 }); // bad n=1, n=2 wait

      // The cause fixed: replay them in position order; each is streamed again and published, in order.
      const kafkaAdmin2 = lab.kafka().admin();
      await kafkaAdmin2.connect();
      await kafkaAdmin2.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }] });
      await kafkaAdmin2.disconnect();
      const ids = (await admin.query<{ id: string }>('select id::text from outbox_dead_letters order by position')).rows.map((r) => r.id);
      for (const id of ids) {
        const published = nextEvent<RelayEvents['published'][0]>((fn) => (relay.events.on('published', fn), () => relay.events.off('published', fn)), `replayed ${id} published`, 30_000, (p) => p.ids.includes(id));
        await replayDeadLetter(pgExecutor(admin), id);
        await published;
      }
      await relay.waitUntilDrained();
      report = await auditItems(lab, topic);
      expect(report.counts).toMatchObject({ rows: written.length, blackHoles: 0, ghosts: 0, duplicates: 0, orderViolations: 0 });
      expect((await admin.query('select count(*)::int as n from outbox_dead_letters')).rows[0].n).toBe(0);
    } finally {
      c.release();
    }
  });
});

/** writeItems' statements inside a transaction the caller opened (and commits). */
async function writeItemsInOpenTx(c: pg.PoolClient, items: { key: string; n: number }[]): Promise<{ id: string; key: string; n: number }[]> {
  const written = items.map((i) => ({ id: randomUUID(), key: i.key, n: i.n }));
  for (const w of written) await c.query('insert into items (id, key, n) values ($1, $2, $3)', [w.id, w.key, w.n]);
  await enqueue(pgExecutor(c), written.map((w) => ({ aggregateType: 'item', aggregateId: w.key, type: 'ItemWritten', payload: { id: w.id, key: w.key, n: w.n } })));
  return written;
}
