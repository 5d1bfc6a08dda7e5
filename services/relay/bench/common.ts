/**
 * What the relay's benchmarks share: command-line parsing with --help, the connections (direct by default,
 * Toxiproxy with --via-proxy), a scratch database + topics that are always removed, the backlog writer,
 * the messages exactly as the relay would send them, percentiles, a text table and the JSON result file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Kafka, logLevel, Partitioners, type Admin, type Message } from 'kafkajs';
import pg from 'pg';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { enqueue, migrateOutbox, pgExecutor, type OutboxRow } from '@dual-write/outbox';
import { toKafkaMessage } from '../src/kafka-message.ts';

export const config: LabConfig = resolveConfig();

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs (strict) + `--help`/`-h` printing `help`; a bad argument prints the error and exits 2. */
export function cli<O extends Options>(help: string, options: O) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if ((values as Record<string, unknown>).help) {
      console.log(help);
      process.exit(0);
    }
    return values as ReturnType<typeof parseArgs<{ options: O }>>['values'];
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${help}`);
    process.exit(2);
  }
}

/** A whole number from a flag, or exit 2 naming the flag. */
export function intFlag(name: string, value: unknown, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} ${String(value)}: expected a whole number ≥ ${min} (see --help)`);
    process.exit(2);
  }
  return n;
}

export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export interface Endpoints {
  label: 'direct' | 'via Toxiproxy';
  brokers: string[];
  databaseUrl(database: string): string;
}

/** Direct PostgreSQL/Kafka (default: other people's tests may put toxics on the proxies), or through Toxiproxy. */
export function endpoints(viaProxy: boolean): Endpoints {
  return {
    label: viaProxy ? 'via Toxiproxy' : 'direct',
    brokers: viaProxy ? config.kafka.appBrokers : config.kafka.brokers,
    databaseUrl: (database) => withDatabase(viaProxy ? config.database.appUrl : config.database.url, database),
  };
}

export function kafkaClient(brokers: string[], clientId = 'bench'): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** A scratch database (outbox migrated) and scratch topics, created on direct connections; `close()` drops them all. */
export interface Scratch {
  database: string;
  /** Direct URL of the scratch database (for set-up and checks). */
  directUrl: string;
  admin: Admin;
  topic(suffix: string, partitions: number): Promise<string>;
  close(): Promise<void>;
}

export async function openScratch(prefix: string): Promise<Scratch> {
  const database = `${prefix}_${process.pid}`;
  const topics: string[] = [];
  const root = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
  await root.connect();
  await root.query(`create database "${database}"`);
  const admin = kafkaClient(config.kafka.brokers).admin();
  const close = async () => {
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect().catch(() => {});
    await root.query(`drop database if exists "${database}" with (force)`).catch((err: Error) => progress(`could not drop ${database}: ${err.message}`));
    await root.end().catch(() => {});
  };
  try {
    await admin.connect();
    const directUrl = withDatabase(config.database.url, database);
    const c = new pg.Client({ connectionString: directUrl });
    await c.connect();
    await migrateOutbox(c).finally(() => c.end());
    return {
      database,
      directUrl,
      admin,
      async topic(suffix, partitions) {
        const name = `${prefix.replace(/_/g, '.')}.${process.pid}.${suffix}`;
        topics.push(name);
        await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
        return name;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Removes the scratch resources on Ctrl-C too (the first signal cleans up; a second exits at once). */
export function cleanUpOnSignal(close: () => Promise<void>): void {
  let signals = 0;
  const handler = () => {
    if (++signals > 1) process.exit(130);
    progress('interrupted: removing the scratch database and topics…');
    void close().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** A payload `{ id, n, filler }` whose JSON is about `bytes` long (incompressible filler, like real ids and data). */
export function payloadOf(n: number, bytes: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = { id: randomUUID(), n, ...extra, filler: '' };
  const room = Math.max(0, bytes - JSON.stringify(base).length);
  let filler = '';
  while (filler.length < room) filler += randomUUID().replace(/-/g, '');
  base.filler = filler.slice(0, room);
  return base;
}

/** Writes `rows` outbox rows (keys `key-0 … key-<keys-1>` round robin), 1 000 per transaction, with progress. */
export async function writeBacklog(databaseUrl: string, rows: number, keys: number, payloadBytes: number): Promise<{ seconds: number }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const t0 = performance.now();
  try {
    let reported = 0;
    for (let done = 0; done < rows; done += 1000) {
      await db.query('begin');
      await enqueue(pgExecutor(db), Array.from({ length: Math.min(1000, rows - done) }, (_, i) => ({
        aggregateType: 'order', aggregateId: `key-${(done + i) % keys}`, type: 'OrderCreated', payload: payloadOf(done + i, payloadBytes),
      })));
      await db.query('commit');
      if (done + 1000 >= rows || performance.now() - t0 - reported > 2000) {
        reported = performance.now() - t0;
        progress(`backlog: ${Math.min(rows, done + 1000)}/${rows} rows written`);
      }
    }
  } finally {
    await db.end();
  }
  return { seconds: (performance.now() - t0) / 1000 };
}

/**
 * The backlog as the relay would send it: read in the relay's order ((transaction_id, position)), turned into
 * Kafka messages by the relay's own toKafkaMessage() with the partition its partitioner picks (murmur2 of the key).
 */
export async function backlogAsMessages(databaseUrl: string, topicPartitions: number): Promise<Message[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<OutboxRow>(`select id, aggregatetype, aggregateid, type, payload, headers, created_at,
      position::text as position, transaction_id::text as transaction_id, attempts, last_error, next_attempt_at
      from outbox order by transaction_id, position`);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: topicPartitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    return rows.map((row) => toKafkaMessage(row, partitioner({ topic: 'any', partitionMetadata, message: { key: row.aggregateid, value: null } })));
  } finally {
    await db.end();
  }
}

/** Messages on a topic: the sum of its partitions' high watermarks (a fresh topic starts at 0). */
export async function topicMessageCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 1) + ':').join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** Writes results/<name>-<timestamp>.json at the repository root; returns its path. */
export function saveResult(name: string, data: unknown): string {
  const dir = path.join(config.repoRoot, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** The machine, for the result files. */
export function machine() {
  return { node: process.version, cpus: os.cpus().length, platform: process.platform, kafkajs: '2.2.4' };
}
