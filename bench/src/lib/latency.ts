/**
 * Commit → Kafka latency under a steady load (moved here from services/relay/bench/latency.ts): writers commit
 * one-outbox-row transactions at a fixed rate (open loop: transaction i is due at start + i/rate) while the
 * relay runs; one consumer reads the topic. latency = (time the fetch response holding the message reached
 * the consumer) − (time COMMIT returned to the writer), both performance.now() in this one process (writer,
 * relay and consumer share it: one clock). The first `warmupSeconds` of commits are left out. Every committed
 * row must arrive exactly once (`lost`, `duplicates`).
 *
 * One rig (scratch database, topic, consumer that has joined its group) serves many measurements: the
 * consumer's group join (seconds) is paid once.
 */
import pg from 'pg';
import type { Consumer } from 'kafkajs';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { startRelay, type Relay } from '@dual-write/relay';
import type { LatencyResult, LatencyWorkload, Progress } from '../types.ts';
import { brokers, kafkaClient, openScratch, payloadOf, percentile, sleep, type Scratch } from './common.ts';

export interface RelayLatencyOptions {
  /** Wake on NOTIFY (LISTEN) or poll only. */
  listen: boolean;
  batchSize: number;
  /** The relay's poll interval (ms): the floor with NOTIFY, the whole story without it. */
  pollIntervalMs: number;
}

export interface LatencyPoint extends LatencyResult {
  ratePerSec: number;
  achievedPerSec: number;
  failedTransactions: number;
  /** BEGIN…COMMIT of the writer (ms). */
  txP50Ms: number;
  txP99Ms: number;
  relayBatches: number;
}

export class LatencyRig {
  /** event id → performance.now() when the consumer got the fetch response holding it (first time). */
  private readonly arrivedAt = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  private constructor(readonly scratch: Scratch, readonly topic: string, private readonly consumer: Consumer) {}

  static async open(prefix: string, partitions: number, progress: Progress): Promise<LatencyRig> {
    const scratch = await openScratch(prefix);
    try {
      const topic = await scratch.topic('orders', partitions);
      const consumer = kafkaClient('bench-latency').consumer({ groupId: `bench-latency-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
      const rig = new LatencyRig(scratch, topic, consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const now = performance.now();
          for (const m of batch.messages) {
            const id = String(m.headers?.id ?? '');
            rig.seen.set(id, (rig.seen.get(id) ?? 0) + 1);
            if (!rig.arrivedAt.has(id)) rig.arrivedAt.set(id, now);
          }
        },
      });
      progress('latency: waiting for the consumer to join its group…');
      await joined;
      return rig;
    } catch (err) {
      await scratch.close();
      throw err;
    }
  }

  /** Runs the relay (in this process) for one measurement. */
  async relayPoint(w: LatencyWorkload, relayOpts: RelayLatencyOptions, progress: Progress): Promise<LatencyPoint> {
    let relay: Relay | undefined;
    try {
      relay = await startRelay({
        database: this.scratch.url, brokers, topic: this.topic, port: false, logLevel: 'warn',
        batchSize: relayOpts.batchSize, listen: relayOpts.listen, pollIntervalMs: relayOpts.pollIntervalMs,
      });
      const point = await this.measure(w, progress);
      return { ...point, relayBatches: relay.stats().batches };
    } finally {
      await relay?.stop().catch(() => {});
    }
  }

  /** Commits at the workload's rate (whatever publishes the outbox runs meanwhile) and measures. */
  async measure(w: LatencyWorkload, progress: Progress, writers = 8): Promise<LatencyPoint> {
    const pool = new pg.Pool({ connectionString: this.scratch.url, max: writers });
    pool.on('error', () => {});
    const committedAt = new Map<string, number>();
    const txMs: number[] = [];
    let failed = 0;
    try {
      await Promise.all(Array.from({ length: writers }, () => pool.connect())).then((cs) => cs.forEach((c) => c.release()));
      const { t0 } = await commitAtSteadyRate({
        pool,
        ratePerSec: w.ratePerSec,
        total: Math.round(w.ratePerSec * w.seconds),
        writers,
        insert: async (c, n) => {
          const [id] = await enqueue(pgExecutor(c), { aggregateType: 'order', aggregateId: `key-${n % w.keys}`, type: 'OrderCreated', payload: payloadOf(n, w.payloadBytes) });
          return id!;
        },
        committedAt,
        txMs,
        onFailure: (err, nth) => {
          failed = nth;
          if (nth === 1) progress(`a writer transaction failed: ${(err as Error).message}`);
        },
        report: (elapsedS) => progress(`  ${elapsedS.toFixed(0)} s: ${committedAt.size} committed`),
        reportEveryMs: 3000,
      });
      const deadline = performance.now() + 30_000;
      while ([...committedAt.keys()].some((id) => !this.arrivedAt.has(id)) && performance.now() < deadline) await sleep(50);
      await sleep(300); // a late duplicate would show up now

      const from = t0 + w.warmupSeconds * 1000;
      const measured = [...committedAt].filter(([, at]) => at >= from);
      const lost = [...committedAt.keys()].filter((id) => !this.arrivedAt.has(id)).length;
      const duplicates = [...committedAt.keys()].reduce((n, id) => n + Math.max(0, (this.seen.get(id) ?? 0) - 1), 0);
      const tx = txMs.sort((a, b) => a - b);
      return {
        ratePerSec: w.ratePerSec,
        ...summarizeLatencies(measured, this.arrivedAt, from),
        lost,
        duplicates,
        failedTransactions: failed,
        txP50Ms: percentile(tx, 50),
        txP99Ms: percentile(tx, 99),
        relayBatches: 0,
      };
    } finally {
      await pool.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.consumer.disconnect().catch(() => {});
    await this.scratch.close();
  }
}

export interface SteadyRateOptions {
  pool: pg.Pool;
  ratePerSec: number;
  /** Transactions in all. */
  total: number;
  /** At most this many in flight (one pool connection each). */
  writers: number;
  /** Writes one row inside the open transaction; resolves to its id. */
  insert(client: pg.PoolClient, n: number): Promise<string>;
  /** Filled as transactions commit: id → performance.now() right after COMMIT returned. */
  committedAt: Map<string, number>;
  /** Filled with each transaction's BEGIN…COMMIT time. */
  txMs: number[];
  onFailure(err: unknown, nth: number): void;
  report(elapsedSeconds: number): void;
  reportEveryMs: number;
}

/**
 * Open-loop writer: transaction n is due at t0 + n/rate, at most `writers` at once (BEGIN, insert, COMMIT); the
 * relay's latency benchmark and the peers' use the same one, so their figures compare. Resolves once all are done.
 */
export async function commitAtSteadyRate(o: SteadyRateOptions): Promise<{ t0: number }> {
  const t0 = performance.now();
  let started = 0;
  let inFlight = 0;
  let failed = 0;
  const write = async (n: number) => {
    const c = await o.pool.connect();
    try {
      const begin = performance.now();
      await c.query('begin');
      const id = await o.insert(c, n);
      await c.query('commit');
      const at = performance.now();
      o.committedAt.set(id, at);
      o.txMs.push(at - begin);
    } catch (err) {
      await c.query('rollback').catch(() => {});
      o.onFailure(err, ++failed);
    } finally {
      c.release();
      inFlight--;
    }
  };
  let lastReport = t0;
  while (started < o.total) {
    const due = Math.min(o.total, Math.floor(((performance.now() - t0) / 1000) * o.ratePerSec) + 1);
    while (started < due && inFlight < o.writers) {
      inFlight++;
      void write(started++);
    }
    if (performance.now() - lastReport >= o.reportEveryMs) {
      lastReport = performance.now();
      o.report((lastReport - t0) / 1000);
    }
    await sleep(1);
  }
  while (inFlight > 0) await sleep(5);
  return { t0 };
}

/**
 * COMMIT → arrival of the measured transactions (id → commit time, from `fromMs` on): how many, percentiles, and
 * the write rate achieved over the measured window. The relay's latency section and the peers' use it alike.
 */
export function summarizeLatencies(measured: [string, number][], arrivedAt: Map<string, number>, fromMs: number) {
  const latencies = measured.filter(([id]) => arrivedAt.has(id)).map(([id, at]) => arrivedAt.get(id)! - at).sort((a, b) => a - b);
  const lastCommit = Math.max(...measured.map(([, at]) => at));
  return {
    achievedPerSec: measured.length / Math.max(0.001, (lastCommit - fromMs) / 1000),
    sent: measured.length,
    received: latencies.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? NaN,
    /** Messages seen before COMMIT returned to the writer (kept in the figures). */
    negative: latencies.filter((l) => l < 0).length,
  };
}
