/**
 * The latency section's writer, in its own process: one-outbox-row transactions at the workload's rate (the open
 * loop of commitAtSteadyRate, shared with the peers' benchmark), each commit time taken right after COMMIT
 * returned, on the monotonic clock every process of the measurement shares. Settings: env
 * BENCH_LATENCY_WRITER (JSON WriterSettings; `inserter` writes a peer's outbox row instead of ours). Protocol: → ready (connections open) · ← go · → done (commits).
 * Exits when the parent closes the channel.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { perfToMono } from './clock.ts';
import { payloadOf, percentile } from './common.ts';
import { failToParent, toParent } from './ipc-child.ts';
import type { FromWriter, InserterFactory, RowInserter, ToWriter, WriterSettings } from './latency-ipc.ts';
import { commitAtSteadyRate } from './latency-steady-rate.ts';

const send = (m: FromWriter) => toParent(m);

async function main(): Promise<void> {
  const raw = process.env.BENCH_LATENCY_WRITER;
  if (!raw) throw new Error('BENCH_LATENCY_WRITER (JSON settings) is not set');
  const { databaseUrl, workload: w, connections, inserter } = JSON.parse(raw) as WriterSettings;
  const outboxInsert: RowInserter = async (c, n) => {
    const [id] = await enqueue(pgExecutor(c), { aggregateType: 'order', aggregateId: `key-${n % w.keys}`, type: 'OrderCreated', payload: payloadOf(n, w.payloadBytes) });
    return id!;
  };
  const insert: RowInserter = inserter
    ? await ((await import(pathToFileURL(inserter.module).href)) as Record<string, InserterFactory>)[inserter.name]!(inserter.options)
    : outboxInsert;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: connections });
  pool.on('error', () => {});
  process.on('disconnect', () => void pool.end().finally(() => process.exit(0)));
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  clients.forEach((c) => c.release());

  const go = new Promise<void>((resolve) => process.on('message', (m: ToWriter) => m.type === 'go' && resolve()));
  send({ type: 'ready' });
  await go;

  const committedAt = new Map<string, number>();
  const txMs: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const { t0 } = await commitAtSteadyRate({
    pool,
    ratePerSec: w.ratePerSec,
    total: Math.round(w.ratePerSec * w.seconds),
    writers: connections,
    insert: (c, n) => insert(c, n, w),
    committedAt,
    txMs,
    onFailure: (err, nth) => {
      failed = nth;
      firstFailure ??= (err as Error).message;
    },
    report: () => {},
    reportEveryMs: 60_000,
  });
  const toMono = perfToMono();
  const tx = txMs.sort((a, b) => a - b);
  send({
    type: 'done',
    t0Mono: t0 + toMono,
    commits: [...committedAt].map(([id, at]) => [id, at + toMono]),
    failedTransactions: failed,
    ...(firstFailure ? { firstFailure } : {}),
    txP50Ms: percentile(tx, 50),
    txP99Ms: percentile(tx, 99),
  });
}

main().catch(failToParent);
