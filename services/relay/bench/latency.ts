/**
 * Commit → Kafka latency under a steady load: a writer commits one-outbox-row transactions at a fixed rate
 * (open loop: transaction i is due at start + i/rate) while the relay runs; a consumer reads the topic. For each
 * message, latency = (time its fetch response reached the consumer) − (time COMMIT returned to the writer),
 * both from performance.now() in this one process (writer, relay and consumer share it: one clock). The first
 * --warmup seconds of commits are left out. Every committed row must arrive exactly once.
 *
 * The relay wakes on NOTIFY (sent at commit) with polling as the floor; it has no option to turn the NOTIFY
 * wake-up off, so this measures it on only.
 */
import pg from 'pg';
import type { Consumer } from 'kafkajs';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { startRelay, type Relay } from '../src/index.ts';
import {
  cleanUpOnSignal, cli, endpoints, intFlag, kafkaClient, machine, openScratch, payloadOf, percentile, progress, saveResult, table,
} from './common.ts';

const HELP = `Usage: node --import tsx services/relay/bench/latency.ts [options]     (or: npm run bench:relay-latency -- [options])

Commit→Kafka latency of the outbox relay at a steady rate: p50/p95/p99/max and the rate achieved, with the
relay's NOTIFY wake-up on (the relay has no option to turn it off). Scratch database and topic, removed at the end.

Options:
  --rate N            transactions (orders) per second, one outbox row each (default 500)
  --seconds N         how long the writer runs (default 20)
  --warmup N          first seconds of commits left out of the figures (default 3)
  --writers N         concurrent writer connections (default 8)
  --keys N            distinct aggregate ids / Kafka keys (default 1000)
  --payload-bytes N   JSON payload size (default 500)
  --batch N           relay batchSize (default 500)
  --partitions N      partitions of the topic (default 6)
  --via-proxy         PostgreSQL and Kafka through Toxiproxy (default: direct — a test may be injecting
                      latency on the proxies at the same time)
  -h, --help          this help

Output: a table on stdout, progress on stderr, JSON in results/relay-latency-<time>.json.
Exit code 1 when a committed message never arrived or arrived twice.`;

const values = cli(HELP, {
  rate: { type: 'string', default: '500' },
  seconds: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '3' },
  writers: { type: 'string', default: '8' },
  keys: { type: 'string', default: '1000' },
  'payload-bytes': { type: 'string', default: '500' },
  batch: { type: 'string', default: '500' },
  partitions: { type: 'string', default: '6' },
  'via-proxy': { type: 'boolean', default: false },
});
const rate = intFlag('rate', values.rate);
const seconds = intFlag('seconds', values.seconds);
const warmup = intFlag('warmup', values.warmup, 0);
const writers = intFlag('writers', values.writers);
const keys = intFlag('keys', values.keys);
const payloadBytes = intFlag('payload-bytes', values['payload-bytes'], 0);
const batch = intFlag('batch', values.batch);
const partitions = intFlag('partitions', values.partitions);
if (warmup >= seconds) {
  console.error(`--warmup ${warmup} must be shorter than --seconds ${seconds}`);
  process.exit(2);
}
const ends = endpoints(values['via-proxy']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** event id → performance.now() right after COMMIT returned. */
const committedAt = new Map<string, number>();
/** event id → performance.now() when the consumer got the fetch response holding it (first time). */
const arrivedAt = new Map<string, number>();
let duplicates = 0;
const txMs: number[] = [];

const scratch = await openScratch('bench_latency');
cleanUpOnSignal(scratch.close);
let relay: Relay | undefined;
let consumer: Consumer | undefined;
const pool = new pg.Pool({ connectionString: ends.databaseUrl(scratch.database), max: writers });
try {
  const topic = await scratch.topic('orders', partitions);
  progress(`${rate}/s for ${seconds} s (${warmup} s warm-up), ${writers} writers, ${keys} keys, ~${payloadBytes} B payload, batch ${batch}, ${partitions} partitions, ${ends.label}`);

  relay = await startRelay({ database: ends.databaseUrl(scratch.database), brokers: ends.brokers, topic, port: false, logLevel: 'warn', batchSize: batch });
  consumer = kafkaClient(ends.brokers, 'bench-latency').consumer({ groupId: `bench-latency-${process.pid}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer!.on(consumer!.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatch: async ({ batch: b }) => {
      const now = performance.now();
      for (const m of b.messages) {
        const id = String(m.headers?.id ?? '');
        if (arrivedAt.has(id)) duplicates++;
        else arrivedAt.set(id, now);
      }
    },
  });
  await joined;
  // Connections of the writer pool opened before the clock starts.
  await Promise.all(Array.from({ length: writers }, () => pool.connect())).then((cs) => cs.forEach((c) => c.release()));

  // Open loop: transaction i is due at t0 + i/rate; at most `writers` in flight (if they cannot keep up, the achieved rate shows it).
  const t0 = performance.now();
  const total = rate * seconds;
  let started = 0;
  let inFlight = 0;
  let failed = 0;
  const write = async (n: number) => {
    const c = await pool.connect();
    try {
      const begin = performance.now();
      await c.query('begin');
      const [id] = await enqueue(pgExecutor(c), { aggregateType: 'order', aggregateId: `key-${n % keys}`, type: 'OrderCreated', payload: payloadOf(n, payloadBytes) });
      await c.query('commit');
      const at = performance.now();
      committedAt.set(id!, at);
      txMs.push(at - begin);
    } catch (err) {
      failed++;
      await c.query('rollback').catch(() => {});
      if (failed === 1) progress(`a writer transaction failed: ${(err as Error).message}`);
    } finally {
      c.release();
      inFlight--;
    }
  };
  let lastReport = t0;
  while (started < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (started < due && inFlight < writers) {
      inFlight++;
      void write(started++);
    }
    if (performance.now() - lastReport >= 2000) {
      lastReport = performance.now();
      progress(`${((lastReport - t0) / 1000).toFixed(0)} s: ${committedAt.size} committed, ${arrivedAt.size} consumed`);
    }
    await sleep(1);
  }
  while (inFlight > 0) await sleep(5);
  const writerSeconds = (performance.now() - t0) / 1000;
  progress(`writer done: ${committedAt.size} committed in ${writerSeconds.toFixed(1)} s; waiting for the consumer…`);
  const deadline = performance.now() + 30_000;
  while ([...committedAt.keys()].some((id) => !arrivedAt.has(id)) && performance.now() < deadline) await sleep(100);
  await sleep(500); // a late duplicate would show up now

  // Figures: commits after the warm-up only.
  const from = t0 + warmup * 1000;
  const measured = [...committedAt].filter(([, at]) => at >= from);
  const lost = [...committedAt.keys()].filter((id) => !arrivedAt.has(id)).length;
  const latencies = measured.filter(([id]) => arrivedAt.has(id)).map(([id, at]) => arrivedAt.get(id)! - at).sort((a, b) => a - b);
  const lastCommit = Math.max(...measured.map(([, at]) => at));
  const achieved = measured.length / ((lastCommit - from) / 1000);
  const tx = txMs.sort((a, b) => a - b);
  const stats = relay.stats();
  const fmt = (ms: number) => ms.toFixed(1);
  const figures = {
    p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN,
    // A message can reach the consumer before the writer's COMMIT call has returned: negative latencies are kept, counted here.
    negative: latencies.filter((l) => l < 0).length,
  };

  console.log(`\nCommit → Kafka latency (${ends.label}, ${partitions} partitions, ${keys} keys, batch ${batch}, ${writers} writers; ms, after ${warmup} s warm-up)\n`);
  console.log(table(
    ['NOTIFY wake-up', 'target tx/s', 'achieved tx/s', 'messages', 'p50', 'p95', 'p99', 'max', 'lost', 'dup', 'tx (BEGIN…COMMIT) p50 / p99'],
    [['on', rate, Math.round(achieved), latencies.length, fmt(figures.p50), fmt(figures.p95), fmt(figures.p99), fmt(figures.max), lost, duplicates, `${fmt(percentile(tx, 50))} / ${fmt(percentile(tx, 99))}`]],
  ));
  console.log(`\n"off" not measured: the relay has no option to turn its NOTIFY wake-up off (it would poll every pollIntervalMs). ` +
    `relay: ${stats.published} published in ${stats.batches} batches (mean ${(stats.published / Math.max(1, stats.batches)).toFixed(1)} rows/batch)` +
    (failed ? ` · ${failed} writer transactions failed` : ''));
  const file = saveResult('relay-latency', {
    at: new Date().toISOString(),
    command: `node --import tsx services/relay/bench/latency.ts ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { rate, seconds, warmup, writers, keys, payloadBytes, batch, partitions, connections: ends.label, notify: 'on' },
    machine: machine(),
    result: {
      achievedRate: achieved, writerSeconds, committed: committedAt.size, measured: latencies.length, lost, duplicates, failedTransactions: failed,
      latencyMs: figures, transactionMs: { p50: percentile(tx, 50), p99: percentile(tx, 99) },
      relay: { published: stats.published, batches: stats.batches },
    },
  });
  console.log(file);
  if (lost || duplicates) process.exitCode = 1;
} finally {
  await consumer?.disconnect().catch(() => {});
  await relay?.stop().catch(() => {});
  await pool.end().catch(() => {});
  await scratch.close();
}
