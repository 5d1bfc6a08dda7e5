/**
 * What the benchmark sections share (moved here from services/relay/bench/common.ts): the lab's direct
 * endpoints, a scratch database (outbox migrated + a `bench_rows` table the auditor compares topics with)
 * and scratch topics that are always removed, the backlog writer, the messages exactly as the relay sends
 * them, the raw producer (the physical limit), the audit of a topic, percentiles.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, CompressionTypes, type Admin, type Message } from 'kafkajs';
import pg from 'pg';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { enqueue, migrateOutbox, pgExecutor, type OutboxRow } from '@dual-write/outbox';
import { toKafkaMessage } from '@dual-write/relay';
import { runAudit } from '@dual-write/audit';
import { topicSettings } from '@dual-write/stack';
import type { Progress } from '../types.ts';

export const config: LabConfig = resolveConfig();

/** Benchmarks use the DIRECT endpoints: tests may put toxics on the Toxiproxy proxies at any time. */
export const brokers: string[] = config.kafka.brokers;
export const dbUrl = (database: string): string => withDatabase(config.database.url, database);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function kafkaClient(clientId = 'bench'): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** A scratch database (outbox + bench_rows) and scratch topics on direct connections; `close()` drops them all. */
export interface Scratch {
  database: string;
  /** Direct URL of the scratch database. */
  url: string;
  admin: Admin;
  /** A new topic `bench.<prefix>.<pid>.<suffix>` with `partitions` partitions (and topic configs, e.g. message.timestamp.type). */
  topic(suffix: string, partitions: number, configs?: Record<string, string>): Promise<string>;
  /** Empties the outbox and bench_rows (between runs). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

let scratchCount = 0;
const openScratches = new Set<Scratch>();

export async function openScratch(prefix: string): Promise<Scratch> {
  const database = `bench_${prefix}_${process.pid}_${scratchCount++}`;
  const topics: string[] = [];
  const root = new pg.Client({ connectionString: dbUrl('postgres') });
  root.on('error', () => {});
  await root.connect();
  await root.query(`create database "${database}"`);
  const admin = kafkaClient().admin();
  let closed = false;
  const scratch: Scratch = {
    database,
    url: dbUrl(database),
    admin,
    async topic(suffix, partitions, configs) {
      const name = `bench.${prefix}.${process.pid}.${suffix}`;
      topics.push(name);
      // On the 3-node cluster (KAFKA_NODES=3) replication factor 3 and min.insync.replicas 2, as the stack's topics.
      const settings = config.kafka.nodeCount === 3 ? topicSettings(config) : { replicationFactor: 1, configEntries: [] };
      const configEntries = [...settings.configEntries.filter((e) => e.name === 'min.insync.replicas'), ...Object.entries(configs ?? {}).map(([key, value]) => ({ name: key, value }))];
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: settings.replicationFactor, ...(configEntries.length ? { configEntries } : {}) }], waitForLeaders: true });
      return name;
    },
    async reset() {
      await withClient(scratch.url, (c) => c.query('truncate outbox, outbox_dead_letters, bench_rows'));
    },
    async close() {
      if (closed) return;
      closed = true;
      openScratches.delete(scratch);
      if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await root.query(`drop database if exists "${database}" with (force)`).catch(() => {});
      await root.end().catch(() => {});
    },
  };
  openScratches.add(scratch);
  try {
    await admin.connect();
    await withClient(scratch.url, async (c) => {
      await migrateOutbox(c);
      await c.query('create table bench_rows (id uuid primary key, created_at timestamptz not null default now())');
    });
    return scratch;
  } catch (err) {
    await scratch.close();
    throw err;
  }
}

/** Every scratch database and topic still open (for Ctrl-C). */
export async function closeAllScratches(): Promise<void> {
  await Promise.all([...openScratches].map((s) => s.close()));
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** A payload `{ id, n, [seq], filler }` whose JSON is about `bytes` long (incompressible filler, like real ids and data). */
export function payloadOf(n: number, bytes: number, extra: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  const base = { id: randomUUID(), n, ...extra, filler: '' };
  const room = Math.max(0, bytes - JSON.stringify(base).length);
  let filler = '';
  while (filler.length < room) filler += randomUUID().replace(/-/g, '');
  base.filler = filler.slice(0, room);
  return base;
}

export interface BacklogSpec {
  rows: number;
  keys: number;
  payloadBytes: number;
}

/**
 * Writes `rows` outbox rows (keys `key-0 … key-<keys-1>` round robin, 1 000 rows per transaction) and, in the
 * same transactions, one bench_rows row per message (id = payload.id) for the auditor. Each payload carries
 * `seq`, the row's number within its key: it grows with the commit order of the key's rows.
 */
export async function writeBacklog(url: string, spec: BacklogSpec, progress: Progress): Promise<{ seconds: number }> {
  const t0 = performance.now();
  await withClient(url, async (db) => {
    let reported = t0;
    for (let done = 0; done < spec.rows; done += 1000) {
      const n = Math.min(1000, spec.rows - done);
      const payloads = Array.from({ length: n }, (_, i) => payloadOf(done + i, spec.payloadBytes, { seq: Math.floor((done + i) / spec.keys) }));
      await db.query('begin');
      await enqueue(pgExecutor(db), payloads.map((payload, i) => ({ aggregateType: 'order', aggregateId: `key-${(done + i) % spec.keys}`, type: 'OrderCreated', payload })));
      await db.query('insert into bench_rows (id) select unnest($1::uuid[])', [payloads.map((p) => p.id)]);
      await db.query('commit');
      if (performance.now() - reported > 3000) {
        reported = performance.now();
        progress(`backlog: ${done + n}/${spec.rows} rows written`);
      }
    }
  });
  return { seconds: (performance.now() - t0) / 1000 };
}

/**
 * The backlog as the relay would send it: read in the relay's order (position), the payload as jsonb text, turned into
 * Kafka messages by the relay's own toKafkaMessage() with the partition its partitioner picks (murmur2 of the key).
 */
export async function backlogAsMessages(url: string, topicPartitions: number): Promise<Message[]> {
  const { rows } = await withClient(url, (db) => db.query<OutboxRow>(`select id, aggregatetype, aggregateid, type, null::jsonb as payload, payload::text as payload_text, headers, created_at,
      position::text as position, transaction_id::text as transaction_id, attempts, last_error, next_attempt_at
      from outbox order by position`));
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: topicPartitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
  return rows.map((row) => toKafkaMessage(row, partitioner({ topic: 'any', partitionMetadata, message: { key: row.aggregateid, value: null } })));
}

/** Messages on a topic: the sum of its partitions' high watermarks (a fresh topic starts at 0). */
export async function topicMessageCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Polls the topic's high watermarks until they reach `count`; resolves to performance.now() at that moment. */
export async function waitForMessages(admin: Admin, topic: string, count: number, timeoutMs: number, progress?: Progress): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let reported = performance.now();
  for (;;) {
    const n = await topicMessageCount(admin, topic);
    if (n >= count) return performance.now();
    if (performance.now() > deadline) throw new Error(`only ${n}/${count} messages on ${topic} after ${Math.round(timeoutMs / 1000)} s`);
    if (progress && performance.now() - reported > 3000) {
      reported = performance.now();
      progress(`${n}/${count} messages on the topic`);
    }
    await sleep(50);
  }
}

export interface RawResult {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  requests: number;
}

/** The physical limit: the same messages from memory, one sendBatch (acks -1, idempotent, 1 in flight, like the relay) per `batch` messages. */
export async function rawProducer(topic: string, messages: Message[], batch: number): Promise<RawResult> {
  const producer = kafkaClient('bench-raw').producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // Warm the topic's metadata outside the timing, as the relay's first batch does before its timing matters.
    await producer.sendBatch({ topicMessages: [{ topic, messages: [] }], acks: -1 }).catch(() => {});
    const t0 = performance.now();
    let requests = 0;
    for (let i = 0; i < messages.length; i += batch) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: messages.slice(i, i + batch) }], acks: -1, compression: CompressionTypes.None });
      requests++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { messages: messages.length, seconds, msgsPerSec: messages.length / seconds, requests };
  } finally {
    await producer.disconnect();
  }
}

export interface TopicAudit {
  rows: number;
  messages: number;
  /** Rows no message mentions (black holes): lost. */
  lost: number;
  duplicates: number;
  ghosts: number;
  orderViolations: number;
}

/**
 * The project's auditor (packages/audit) on bench_rows vs the topic: entity = json:id, event = header:id; with
 * `sequence`, per-key order by that field (json:seq = the per-key sequence written in the payload).
 */
export async function auditTopic(scratch: Scratch, topic: string, sequence?: string): Promise<TopicAudit> {
  const report = await runAudit({
    databaseUrl: scratch.url, table: 'bench_rows', topic, brokers, entityId: 'json:id', eventId: 'header:id', graceMs: 0,
    ...(sequence ? { sequence, groupBy: 'key' } : {}),
  });
  const c = report.counts;
  return { rows: c.rows, messages: c.messages, lost: c.blackHoles, duplicates: c.duplicates, ghosts: c.ghosts, orderViolations: c.orderViolations };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (x: number, digits = 0): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
export const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
export const fmtRate = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
export const fmtMs = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
export const fmtRatio = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
