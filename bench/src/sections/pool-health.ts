/**
 * Pool health under Kafka latency: the project's pool-exhaustion burst (loadtests' runPoolExhaustion, the
 * engine of `npm run loadtest -- pool-exhaustion --compare`) at 0 / 1 / 5 s of latency on the Toxiproxy
 * `kafka` proxy, naive then outbox at each latency, and what happens meanwhile to the unrelated endpoints
 * (POST /api/v1/login, GET /api/v1/products) that share the order service's database pool.
 *
 * It goes through the proxies on purpose (the toxic is on the kafka proxy), under the lab lock, with the
 * toxic always removed (also on an error or Ctrl-C). The order service (default pool: DB_POOL_MAX), the relay
 * and the shipping/billing consumers run in this process on a scratch database and topic.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { runAudit } from '@dual-write/audit';
import { Cleanup, acquireLabLock, runCleanupOnSignals } from '@dual-write/faults';
import { startSystem } from '@dual-write/lab';
import { runPoolBurst } from '@dual-write/loadgen';
import { runPoolExhaustion, type OutboxDrain, type PoolRunReport, type RowFigures } from '@dual-write/loadtests';
import type { BenchSection, ChartSpec, Ratio, SectionContext, SectionResult } from '../types.ts';
import { dropScratch, recreateScratch } from './api-throughput.ts';

export const POOL_STRATEGIES = ['naive', 'outbox'] as const;
export type PoolStrategy = (typeof POOL_STRATEGIES)[number];

export interface PoolSizes {
  latenciesMs: number[];
  /** Concurrent order requests (more than the service's pool). */
  burst: number;
  /** Parallel loops on the unrelated endpoints. */
  probes: number;
  drainTimeoutMs: number;
}

export function poolSizes(quick: boolean): PoolSizes {
  return quick ? { latenciesMs: [0, 1000], burst: 10, probes: 4, drainTimeoutMs: 30_000 } : { latenciesMs: [0, 1000, 5000], burst: 20, probes: 4, drainTimeoutMs: 60_000 };
}

/** One burst at one latency with one strategy. */
export interface PoolPoint {
  latencyMs: number;
  strategy: PoolStrategy;
  durationMs: number;
  orders: RowFigures;
  unrelated: RowFigures;
  /** unrelated ok ÷ total (0…1). */
  unrelatedSuccess: number;
  /** The project's k6 thresholds on the unrelated endpoints (failed rate < 1 %, p99 < 1 s). */
  thresholdsCrossed: number;
  drain?: OutboxDrain;
}

export interface PoolHealthData {
  sizes: PoolSizes;
  pool: { max: number; acquireTimeoutMs: number };
  database: string;
  topic: string;
  points: PoolPoint[];
  /** Outbox orders against the topic (naive orders are left out: their ghosts and black holes are the naive strategy's known damage). */
  audit?: { outboxOrders: number; blackHoles: number; duplicates: number };
}

function toPoint(r: PoolRunReport, strategy: PoolStrategy): PoolPoint {
  const { orders, unrelated } = r.figures.rows;
  return {
    latencyMs: r.latencyMs,
    strategy,
    durationMs: r.result.durationMs,
    orders,
    unrelated,
    unrelatedSuccess: unrelated.total ? unrelated.ok / unrelated.total : 0,
    thresholdsCrossed: r.thresholds.filter((t) => !t.ok).length,
    ...(r.drain ? { drain: r.drain } : {}),
  };
}

async function auditOutbox(config: LabConfig, databaseUrl: string, topic: string): Promise<NonNullable<PoolHealthData['audit']>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create or replace view bench_outbox_orders as select * from orders where strategy = 'outbox'`);
  } finally {
    await client.end();
  }
  const report = await runAudit({ databaseUrl, table: 'bench_outbox_orders', topic, brokers: config.kafka.brokers, graceMs: 0 });
  return { outboxOrders: report.counts.rows, blackHoles: report.counts.blackHoles, duplicates: report.counts.duplicates };
}

export interface PoolHealthOptions {
  sizes?: Partial<PoolSizes>;
  database?: string;
  topic?: string;
  keepScratch?: boolean;
}

export async function runPoolHealth(ctx: SectionContext, opts: PoolHealthOptions = {}): Promise<SectionResult> {
  const sizes: PoolSizes = { ...poolSizes(ctx.quick), ...opts.sizes };
  const database = opts.database ?? 'dual_write_bench_pool';
  const topic = opts.topic ?? 'orders.bench-pool';
  const config = resolveConfig(); // through the proxies: the toxic is on the kafka proxy
  const say = ctx.progress;
  const points: PoolPoint[] = [];
  const notes: string[] = [];
  let audit: PoolHealthData['audit'];
  const cleanup = new Cleanup();
  // Ctrl-C during a burst must still remove the toxic from the shared kafka proxy.
  const offSignals = runCleanupOnSignals(cleanup, { say, doing: 'removing the latency toxic and stopping the pool-health run' });
  try {
    await cleanup.around(
      async () => {
        if (!ctx.holdsLabLock) {
          const release = await acquireLabLock(config, () => say('pool-health: waiting for the lab lock (a test or load run is using the proxies)…'));
          cleanup.defer('release the lab lock', release);
        }
        say(`pool-health: preparing database ${database} and topic ${topic}…`);
        await recreateScratch(config, database, topic);
        if (!opts.keepScratch) {
          cleanup.defer('drop the scratch database and topic', async () => {
            const problem = await dropScratch(config, database, topic);
            if (problem) notes.push(problem);
          });
        }
        const system = await startSystem({
          config,
          port: 0,
          databaseUrl: withDatabase(config.database.appUrl, database),
          directDatabaseUrl: withDatabase(config.database.url, database),
          topic,
          groupSuffix: `bench-pool-${Date.now()}`,
          relayPort: false,
          relayLogLevel: 'error',
          log: () => {},
        });
        cleanup.defer('stop the in-process system', () => system.stop());
        say(`pool-health: order service on ${system.url} (pool ${config.orderService.poolMax}, acquire timeout ${config.orderService.poolAcquireTimeoutMs} ms); burst ${sizes.burst}, ${sizes.probes} probe loops`);

        // Unmeasured, no toxic: the first measured point must not pay for the producer's first connection,
        // the pool's first connections and the JIT (that would make naive look worse at 0 s than it is).
        for (const strategy of POOL_STRATEGIES) await runPoolBurst({ baseUrl: system.url, strategy, burst: sizes.burst, probes: sizes.probes, customerId: 'bench-warmup' });

        for (const latencyMs of sizes.latenciesMs) {
          for (const strategy of POOL_STRATEGIES) {
            if (cleanup.started) throw new Error('pool-health was interrupted');
            const inner = new Cleanup();
            const stop = cleanup.defer(`stop the ${strategy} burst`, async () => void (await inner.runAll()));
            const report = await runPoolExhaustion({
              config,
              baseUrl: system.url,
              system: { directDatabaseUrl: withDatabase(config.database.url, database) },
              strategy,
              latencyMs,
              burst: sizes.burst,
              probes: sizes.probes,
              lock: false,
              cleanup: inner,
              drainTimeoutMs: sizes.drainTimeoutMs,
              progress: (l) => say(`  [${latencyMs / 1000} s · ${strategy}] ${l}`),
            });
            await stop();
            const p = toPoint(report, strategy);
            points.push(p);
            say(`  ${latencyMs / 1000} s · ${strategy}: unrelated ${p.unrelated.ok}/${p.unrelated.total} ok (${pct(p.unrelatedSuccess)}), p99 ${p.unrelated.p99Ms} ms; orders ${p.orders.ok} ok / ${p.orders.failed} failed`);
          }
        }
        say('pool-health: auditing the outbox orders against the topic…');
        audit = await auditOutbox(config, withDatabase(config.database.url, database), topic);
      },
      { say, hint: `Check the kafka proxy's toxics: curl ${config.toxiproxy.url}/proxies/kafka/toxics` },
    );
  } finally {
    offSignals();
  }

  const data: PoolHealthData = { sizes, pool: { max: config.orderService.poolMax, acquireTimeoutMs: config.orderService.poolAcquireTimeoutMs }, database, topic, points, audit };
  await mkdir(ctx.outDir, { recursive: true });
  await writeFile(path.join(ctx.outDir, 'pool-health.json'), JSON.stringify(data, null, 2));
  return summarizePoolHealth(data, notes);
}

function pct(x: number): string {
  return `${(Math.round(x * 1000) / 10).toFixed(1)} %`;
}

/** Table, ratios, charts and notes from the measured points (pure). */
export function summarizePoolHealth(data: PoolHealthData, extraNotes: string[] = []): SectionResult {
  const drainCell = (d?: OutboxDrain) => (d ? (d.drained ? `${d.ms} ms (${d.pendingAtLift}/${d.events} waiting)` : `not drained after ${d.ms} ms`) : '–');
  const rows = data.points.map((p) => [
    `${p.latencyMs / 1000} s`,
    p.strategy,
    `${p.unrelated.ok} / ${p.unrelated.total}`,
    pct(p.unrelatedSuccess),
    p.unrelated.p99Ms,
    Object.entries(p.unrelated.errors).map(([k, n]) => `${k} ${n}`).join(', ') || '–',
    `${p.orders.ok} / ${p.orders.failed}`,
    p.orders.p99Ms,
    drainCell(p.drain),
  ]);

  const ratios: Ratio[] = [];
  const ratioNotes: string[] = [];
  for (const latencyMs of data.sizes.latenciesMs) {
    const naive = data.points.find((p) => p.latencyMs === latencyMs && p.strategy === 'naive');
    const outbox = data.points.find((p) => p.latencyMs === latencyMs && p.strategy === 'outbox');
    if (!naive || !outbox) continue;
    const name = `Pool health at ${latencyMs / 1000} s Kafka latency: outbox ÷ naive (unrelated success rate)`;
    if (naive.unrelatedSuccess > 0) {
      ratios.push({ name, measured: `outbox unrelated success ${pct(outbox.unrelatedSuccess)}`, reference: `naive unrelated success ${pct(naive.unrelatedSuccess)}`, value: Math.round((outbox.unrelatedSuccess / naive.unrelatedSuccess) * 1000) / 1000 });
    } else {
      ratioNotes.push(`${name}: not a number — every unrelated call failed under naive (0 of ${naive.unrelated.total}), outbox kept ${pct(outbox.unrelatedSuccess)}.`);
    }
  }

  const values = data.points.map((p) => ({ latencySeconds: p.latencyMs / 1000, strategy: p.strategy, successPct: Math.round(p.unrelatedSuccess * 1000) / 10, p99Ms: p.unrelated.p99Ms }));
  const line = (title: string, field: string, axis: string, extra: Record<string, unknown> = {}): ChartSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 220,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'latencySeconds', type: 'quantitative', title: 'Kafka latency (s, toxic on the kafka proxy)', axis: { values: data.sizes.latenciesMs.map((l) => l / 1000) } },
      y: { field, type: 'quantitative', title: axis, ...extra },
      color: { field: 'strategy', type: 'nominal', sort: [...POOL_STRATEGIES], title: 'strategy' },
    },
  });
  const charts = [
    { file: 'pool-health-success.svg', spec: line('Unrelated endpoints during an order burst: success rate', 'successPct', 'unrelated success (%)', { scale: { domain: [0, 100] } }) },
    { file: 'pool-health-p99.svg', spec: line('Unrelated endpoints during an order burst: p99 latency', 'p99Ms', 'unrelated p99 (ms)') },
  ];

  const s = data.sizes;
  const notes = [
    `Each point: a burst of ${s.burst} concurrent POST /api/v1/orders while ${s.probes} loops call POST /api/v1/login and GET /api/v1/products?q=book (the "unrelated" endpoints), with a latency toxic of 0 / ${s.latenciesMs.filter((l) => l > 0).map((l) => l / 1000).join(' / ')} s on the Toxiproxy kafka proxy; the unrelated calls are probed for at least the latency window. Same engine as npm run loadtest -- pool-exhaustion --compare (loadtests' runPoolExhaustion), naive then outbox at each latency, under the lab lock, the toxic removed after each burst. One unmeasured burst per strategy, without a toxic, warms the service up first.`,
    `The order service runs with its default pool (DB_POOL_MAX ${data.pool.max}, acquire timeout ${data.pool.acquireTimeoutMs} ms), through the postgres and kafka proxies, with the relay, shipping and billing in the same process, on the scratch database ${data.database} and topic ${data.topic}.`,
    'Naive holds a pool connection for the whole Kafka send, so under latency the burst takes the pool and the unrelated endpoints wait past the acquire timeout (DW_DB_POOL_EXHAUSTED); outbox never touches Kafka in the request. "outbox drained" is the time from the toxic\'s removal until the relay had published the burst\'s rows.',
    data.audit ? `Audit of the outbox orders against the topic: ${data.audit.outboxOrders} orders, ${data.audit.blackHoles} lost, ${data.audit.duplicates} duplicated (naive orders are not audited here: ghosts/black holes are its known damage).` : 'The audit did not run.',
    ...ratioNotes,
    'Shared 2-core box; a burst is a few seconds, so each point is one sample: read the shape (naive falls with latency, outbox stays flat), not the decimals.',
    ...extraNotes,
  ];
  return {
    id: 'pool-health',
    title: 'Pool health under Kafka latency: naive vs outbox',
    table: { headers: ['Kafka latency', 'strategy', 'unrelated ok / total', 'unrelated success', 'unrelated p99 ms', 'unrelated errors', 'orders ok / failed', 'orders p99 ms', 'outbox drained after lift'], rows },
    ratios,
    charts,
    data,
    notes,
    lost: data.audit?.blackHoles ?? 0,
  };
}

export const poolHealthSection: BenchSection = {
  id: 'pool-health',
  title: 'Pool health under Kafka latency: naive vs outbox',
  run: (ctx) => runPoolHealth(ctx),
};
