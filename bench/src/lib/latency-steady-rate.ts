/**
 * The open-loop writer of the latency measurements (moved here from the old in-process rig, lib/latency.ts):
 * transaction n is due at t0 + n/rate, at most `writers` in flight, each commit time taken right after COMMIT
 * returned. The latency section's and the peers race's writer child (latency-writer-child.ts) runs it.
 */
import type pg from 'pg';
import { sleep } from './common.ts';

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
 * Open-loop writer: transaction n is due at t0 + n/rate, at most `writers` at once (BEGIN, insert, COMMIT);
 * the latency section and the peers race run it in the same writer child, so their figures compare. Resolves once all are done.
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
