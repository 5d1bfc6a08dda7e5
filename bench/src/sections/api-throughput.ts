/**
 * Order API throughput: the same closed-loop load (fixed concurrency, same duration) on POST /api/v1/orders
 * with strategy DB-only (the order insert, no messaging), naive (transaction + awaited Kafka send) and outbox
 * (order + outbox row in one transaction; the relay publishes), one after the other in one run, plus pgbench
 * running the outbox's two INSERTs as the database's own ceiling on this box.
 *
 * Set-up, like `npm run test-scenario`: a scratch database and topic recreated for the run; the order service
 * and the relay in this process, both on the direct PostgreSQL and Kafka endpoints (no Toxiproxy in the
 * path). The relay runs during every strategy (it idles for DB-only and naive), so the outbox figures pay for
 * publishing in the same process, as naive pays for its sends. The load generator (autocannon) is a child
 * process, so it does not share the service's event loop.
 *
 * DB-only is the service's own code path minus the messaging: POST /bench/orders, a plugin only this benchmark
 * mounts on the service's app (../lib/db-only-orders.ts); the service itself has no such strategy.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { runAudit } from '@dual-write/audit';
import { SAMPLE_ITEMS } from '@dual-write/loadgen';
import { dropDatabaseAndTopic as dropScratch, recreateDatabaseAndTopic as recreateScratch } from '@dual-write/lab';
import { buildApp, type App } from '@dual-write/order-service';
import { startRelay, type Relay } from '@dual-write/relay';
import { DB_ONLY_PATH, dbOnlyOrders } from '../lib/db-only-orders.ts';
import { runCaptured } from '../lib/proc.ts';
import type { BenchSection, ChartSpec, Ratio, SectionContext, SectionResult } from '../types.ts';
import { PGBENCH_INSTALL, pgbenchVersion, runPgbench, type PgbenchResult } from './pgbench.ts';

export const API_STRATEGIES = ['db-only', 'naive', 'outbox'] as const;
export type ApiStrategy = (typeof API_STRATEGIES)[number];

const LABELS: Record<ApiStrategy, string> = { 'db-only': 'DB-only', naive: 'naive', outbox: 'outbox' };
const CUSTOMER_ID = 'bench-api';

export interface ApiSizes {
  /** Measured seconds per strategy (split evenly over the rounds). */
  seconds: number;
  /**
   * The strategies take turns (DB-only, naive, outbox, DB-only, …) in this many rounds, so a change in the
   * shared box's background load lands on all three instead of on whichever ran at that moment.
   */
  rounds: number;
  /** Unmeasured seconds per strategy before it (connections, JIT, the producer's first metadata). */
  warmupSeconds: number;
  /** Closed-loop concurrency: HTTP connections, the service's pool size, and pgbench's clients. */
  connections: number;
  /** How long to wait for the outbox to empty after the outbox load. */
  drainTimeoutMs: number;
}

export function apiSizes(quick: boolean): ApiSizes {
  return quick ? { seconds: 3, rounds: 1, warmupSeconds: 1, connections: 10, drainTimeoutMs: 60_000 } : { seconds: 20, rounds: 4, warmupSeconds: 3, connections: 10, drainTimeoutMs: 120_000 };
}

/** What autocannon measured for one strategy (over all its rounds). */
export interface LoadFigures {
  strategy: ApiStrategy;
  seconds: number;
  connections: number;
  /** 2xx responses. */
  ok: number;
  /** Non-2xx responses, socket errors and timeouts. */
  failed: number;
  /** 2xx responses per second of the measured window. */
  reqPerSec: number;
  /** Over several rounds: the median of the rounds' percentiles (autocannon's histograms are not merged). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
  /** Each round's own figures (one round: the same as the total). */
  rounds?: Omit<LoadFigures, 'rounds'>[];
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return 0;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** One strategy's rounds as one figure: counts and time summed, latency percentiles as the rounds' median. */
export function combineRounds(rounds: Omit<LoadFigures, 'rounds'>[]): LoadFigures {
  const first = rounds[0]!;
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const ok = rounds.reduce((n, r) => n + r.ok, 0);
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    strategy: first.strategy,
    seconds: Math.round(seconds * 100) / 100,
    connections: first.connections,
    ok,
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    reqPerSec: seconds > 0 ? Math.round((ok / seconds) * 10) / 10 : 0,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    maxMs: Math.max(...rounds.map((r) => r.maxMs)),
    statusCodes,
    rounds,
  };
}

/** outbox: the backlog when the load stopped and how long the relay took to publish it (the slowest round). */
export interface DrainFigures {
  pendingAtEnd: number;
  drained: boolean;
  ms: number;
  /** Every outbox round's drain. */
  rounds?: Omit<DrainFigures, 'rounds'>[];
}

// ── scratch database and topic ────────────────────────────────────────────────────────────────────────────

/** The scratch database and topic, recreated each run (the same helpers as the lab's test-scenario and soak). */
export { recreateScratch, dropScratch };

// ── the load ──────────────────────────────────────────────────────────────────────────────────────────────

const require = createRequire(import.meta.url);

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats?: Record<string, { count: number }>;
  latency: { p50: number; p99: number; max: number };
}

/** One closed-loop autocannon run in a child process (it must not share the service's event loop). */
export async function autocannon(url: string, body: unknown, connections: number, seconds: number): Promise<AutocannonJson> {
  const bin = require.resolve('autocannon/autocannon.js');
  const args = [bin, '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', JSON.stringify(body), '-t', '30', '-j', '-n', url];
  const { code, stdout, stderr } = await runCaptured(process.execPath, args);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`autocannon exited with ${code}: ${(stderr || stdout).slice(-2000)}`);
  return JSON.parse(line) as AutocannonJson;
}

export function toLoadFigures(strategy: ApiStrategy, connections: number, r: AutocannonJson): Omit<LoadFigures, 'rounds'> {
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = s.count;
  return {
    strategy,
    seconds: r.duration,
    connections,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    reqPerSec: Math.round((r['2xx'] / r.duration) * 10) / 10,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    statusCodes,
  };
}

/**
 * One request before the load: a refused request (e.g. an app built without the DB-only plugin) fails here,
 * clearly; a 503 (Kafka or PostgreSQL restarting under someone's chaos test) is retried for up to a minute.
 */
async function probeOrder(url: string, body: unknown, say: (l: string) => void): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.status === 201) return;
    if (res.status !== 503 || Date.now() > deadline) throw new Error(`POST ${new URL(url).pathname} ${JSON.stringify(body)} answered ${res.status}: ${text}`);
    if (attempt === 1) say(`  the order service answers 503 (${text.slice(0, 160)}); waiting for the stack…`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function measureOutboxDrain(databaseUrl: string, timeoutMs: number): Promise<DrainFigures> {
  const t0 = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const left = async () => (await client.query<{ n: number }>('select count(*)::int as n from outbox')).rows[0]!.n;
    const pendingAtEnd = await left();
    let n = pendingAtEnd;
    while (n > 0 && performance.now() - t0 < timeoutMs) {
      await new Promise((r) => setTimeout(r, 20));
      n = await left();
    }
    return { pendingAtEnd, drained: n === 0, ms: Math.round(performance.now() - t0) };
  } finally {
    await client.end();
  }
}

/** Every naive/outbox order must be on the topic (the auditor, over a view that leaves DB-only orders out). */
async function auditMessaged(config: LabConfig, databaseUrl: string, topic: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create or replace view bench_messaged_orders as select * from orders where strategy in ('naive', 'outbox')`);
  } finally {
    await client.end();
  }
  const report = await runAudit({ databaseUrl, table: 'bench_messaged_orders', topic, brokers: config.kafka.brokers, graceMs: 0 });
  return report.counts;
}

// ── the section ───────────────────────────────────────────────────────────────────────────────────────────

export interface ApiThroughputData {
  sizes: ApiSizes;
  database: string;
  topic: string;
  loads: LoadFigures[];
  /** Rounds (1-based) left out of the figures because some request failed in them (still in each load's `rounds`). */
  excludedRounds?: number[];
  outboxDrain?: DrainFigures;
  audit?: { rows: number; messages: number; blackHoles: number; ghosts: number; duplicates: number };
  pgbench: { ran: true; result: PgbenchResult } | { ran: false; reason: string };
}

export interface ApiThroughputOptions {
  sizes?: Partial<ApiSizes>;
  database?: string;
  topic?: string;
  /** Keep the scratch database and topic afterwards (default: drop them). */
  keepScratch?: boolean;
}

export async function runApiThroughput(ctx: SectionContext, opts: ApiThroughputOptions = {}): Promise<SectionResult> {
  const sizes: ApiSizes = { ...apiSizes(ctx.quick), ...opts.sizes };
  const database = opts.database ?? 'dual_write_bench_api';
  const topic = opts.topic ?? 'orders.bench-api';
  // Direct endpoints (no proxies), and a pool as large as the load's concurrency: every in-flight request has
  // its connection, as each pgbench client has its own (the pool-exhaustion effect is the pool-health section's).
  const config = resolveConfig({ VIA_PROXY: false, DB_POOL_MAX: sizes.connections });
  const databaseUrl = withDatabase(config.database.url, database);
  const notes: string[] = [];
  const say = ctx.progress;

  say(`api-throughput: preparing database ${database} and topic ${topic}…`);
  await recreateScratch(config, database, topic);
  try {
    return await measure();
  } finally {
    if (!opts.keepScratch) {
      const problem = await dropScratch(config, database, topic);
      if (problem) say(`api-throughput: ${problem}`);
    }
  }

  async function measure(): Promise<SectionResult> {
    let app: App | undefined;
    let relay: Relay | undefined;
    const loads: LoadFigures[] = [];
    let outboxDrain: DrainFigures | undefined;
    let audit: ApiThroughputData['audit'];
    let pgbench: ApiThroughputData['pgbench'];
    let excludedRounds: number[];
    try {
      app = await buildApp({ config, databaseUrl, directDatabaseUrl: databaseUrl, topic, plugins: [dbOnlyOrders] });
      await app.fastify.listen({ host: '127.0.0.1', port: 0 });
      relay = await startRelay({ database: databaseUrl, brokers: config.kafka.brokers, topic, port: false, logLevel: 'error' });
      const base = app.url();
      // DB-only has its own route (the benchmark's plugin); naive and outbox are the service's POST /api/v1/orders.
      const urlFor = (strategy: ApiStrategy) => `${base}${strategy === 'db-only' ? DB_ONLY_PATH : '/api/v1/orders'}`;
      say(`api-throughput: order service on ${app.url()} (pool ${config.orderService.poolMax}), relay running; ${sizes.connections} connections, ${sizes.warmupSeconds} s warm-up + ${sizes.seconds} s per strategy`);

      const bodyFor = (strategy: ApiStrategy) => ({ customerId: CUSTOMER_ID, items: SAMPLE_ITEMS, strategy });
      for (const strategy of API_STRATEGIES) {
        await probeOrder(urlFor(strategy), bodyFor(strategy), say);
        if (sizes.warmupSeconds > 0) await autocannon(urlFor(strategy), bodyFor(strategy), sizes.connections, sizes.warmupSeconds);
      }
      await measureOutboxDrain(databaseUrl, sizes.drainTimeoutMs); // the measured rounds start with an empty outbox
      const perRound = Math.max(1, Math.round(sizes.seconds / sizes.rounds));
      const rounds = new Map<ApiStrategy, Omit<LoadFigures, 'rounds'>[]>(API_STRATEGIES.map((st) => [st, []]));
      const drains: Omit<DrainFigures, 'rounds'>[] = [];
      for (let round = 1; round <= sizes.rounds; round++) {
        for (const strategy of API_STRATEGIES) {
          const figures = toLoadFigures(strategy, sizes.connections, await autocannon(urlFor(strategy), bodyFor(strategy), sizes.connections, perRound));
          rounds.get(strategy)!.push(figures);
          say(`  ${sizes.rounds > 1 ? `round ${round}/${sizes.rounds} ` : ''}${LABELS[strategy]}: ${figures.reqPerSec} req/s, p99 ${figures.p99Ms} ms (${figures.ok} ok, ${figures.failed} failed)`);
          if (strategy === 'outbox') {
            // The relay publishes the backlog before the next strategy's turn, so that turn does not pay for it.
            const d = await measureOutboxDrain(databaseUrl, sizes.drainTimeoutMs);
            drains.push(d);
            say(`  outbox backlog: ${d.pendingAtEnd} rows when the load stopped, ${d.drained ? `drained in ${d.ms} ms` : `NOT drained after ${d.ms} ms`}`);
          }
        }
      }
      // A round in which any strategy had failures (PostgreSQL or Kafka restarted by someone's chaos test) is
      // left out of all three, as long as a clean round remains: the strategies stay compared on the same rounds.
      const clean = Array.from({ length: sizes.rounds }, (_, i) => i).filter((i) => API_STRATEGIES.every((st) => rounds.get(st)![i]!.failed === 0));
      const used = clean.length > 0 && clean.length < sizes.rounds ? clean : Array.from({ length: sizes.rounds }, (_, i) => i);
      excludedRounds = Array.from({ length: sizes.rounds }, (_, i) => i + 1).filter((r) => !used.includes(r - 1));
      if (excludedRounds.length) say(`  round(s) ${excludedRounds.join(', ')} had failed requests: left out of every strategy's figures`);
      for (const strategy of API_STRATEGIES) loads.push({ ...combineRounds(used.map((i) => rounds.get(strategy)![i]!)), rounds: rounds.get(strategy)! });
      const usedDrains = used.map((i) => drains[i]!);
      const slowest = usedDrains.reduce((a, b) => (!a.drained ? a : !b.drained || b.ms > a.ms ? b : a), usedDrains[0]!);
      outboxDrain = { ...slowest, rounds: drains };
      if (sizes.rounds > 1) for (const l of loads) say(`  ${LABELS[l.strategy]} over ${sizes.rounds} rounds: ${l.reqPerSec} req/s, p99 ${l.p99Ms} ms`);

      say('api-throughput: auditing the topic against the naive and outbox orders…');
      const counts = await auditMessaged(config, databaseUrl, topic);
      audit = { rows: counts.rows, messages: counts.messages, blackHoles: counts.blackHoles, ghosts: counts.ghosts, duplicates: counts.duplicates };
      say(`  ${counts.rows} orders, ${counts.messages} messages: ${counts.blackHoles} lost, ${counts.ghosts} ghosts, ${counts.duplicates} duplicated`);
    } finally {
      await relay?.stop().catch((err: unknown) => notes.push(`relay stop failed: ${(err as Error).message}`));
      await app?.close().catch((err: unknown) => notes.push(`order service close failed: ${(err as Error).message}`));
    }

    try {
      const version = await pgbenchVersion();
      if (!version) {
        pgbench = { ran: false, reason: `pgbench is not installed (it is not part of the embedded PostgreSQL binaries). Install it: ${PGBENCH_INSTALL}` };
      } else {
        const dir = path.join(ctx.outDir, 'pgbench');
        await mkdir(dir, { recursive: true });
        say(`api-throughput: ${version}, the same two INSERTs for ${sizes.seconds} s with ${sizes.connections} clients…`);
        const result = await runPgbench({ databaseUrl, clients: sizes.connections, seconds: sizes.seconds, dir, customerId: CUSTOMER_ID, items: SAMPLE_ITEMS, progress: (l) => say(`  ${l}`) });
        pgbench = { ran: true, result };
        say(`  pgbench: ${result.tps.toFixed(1)} tps, p99 ${result.p99Ms} ms (${result.transactions} transactions, ${result.failed} failed)`);
      }
    } catch (err) {
      pgbench = { ran: false, reason: `pgbench failed: ${(err as Error).message}` };
    }

    const data: ApiThroughputData = { sizes, database, topic, loads, excludedRounds, outboxDrain, audit, pgbench };
    await mkdir(ctx.outDir, { recursive: true });
    await writeFile(path.join(ctx.outDir, 'api-throughput.json'), JSON.stringify(data, null, 2));
    return summarizeApiThroughput(data, notes);
  }
}

/** Table, ratios, charts and notes from the measured figures (pure: the --quick test can check it). */
export function summarizeApiThroughput(data: ApiThroughputData, extraNotes: string[] = []): SectionResult {
  const by = (s: ApiStrategy) => data.loads.find((l) => l.strategy === s);
  const dbOnly = by('db-only');
  const naive = by('naive');
  const outbox = by('outbox');
  const pgb = data.pgbench.ran ? data.pgbench.result : undefined;
  const drain = data.outboxDrain;
  const drainCell = drain ? (drain.drained ? `${drain.ms} ms (${drain.pendingAtEnd} rows waiting)` : `not drained after ${drain.ms} ms (${drain.pendingAtEnd} rows waiting)`) : '–';

  const rows: (string | number)[][] = data.loads.map((l) => [LABELS[l.strategy], l.reqPerSec, l.p50Ms, l.p99Ms, l.ok, l.failed, l.strategy === 'outbox' ? drainCell : '–']);
  if (pgb) rows.push([`pgbench (same 2 INSERTs, ${pgb.clients} clients)`, Math.round(pgb.tps * 10) / 10, pgb.p50Ms, pgb.p99Ms, pgb.transactions, pgb.failed, '–']);
  else rows.push(['pgbench', 'not run', '–', '–', '–', '–', '–']);

  const ratios: Ratio[] = [];
  const ratio = (name: string, measured: string, reference: string, a: number | undefined, b: number | undefined) => {
    const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
    if (a !== undefined && b !== undefined && b > 0) ratios.push({ name, measured: `${measured} ${n(a)}`, reference: `${reference} ${n(b)}`, value: Math.round((a / b) * 1000) / 1000 });
  };
  ratio('API throughput: outbox ÷ DB-only (req/s)', 'outbox req/s', 'DB-only req/s', outbox?.reqPerSec, dbOnly?.reqPerSec);
  ratio('API throughput: outbox ÷ naive (req/s)', 'outbox req/s', 'naive req/s', outbox?.reqPerSec, naive?.reqPerSec);
  ratio('API throughput: DB-only ÷ pgbench (req/s ÷ tps)', 'DB-only req/s', 'pgbench tps (same two INSERTs)', dbOnly?.reqPerSec, pgb?.tps);
  // The same transaction on both sides: how much of the database's ceiling the outbox API reaches.
  ratio('API throughput: outbox ÷ pgbench (req/s ÷ tps)', 'outbox req/s', 'pgbench tps (same two INSERTs)', outbox?.reqPerSec, pgb?.tps);

  const bars = [
    ...data.loads.map((l) => ({ variant: LABELS[l.strategy], reqPerSec: l.reqPerSec, p99Ms: l.p99Ms })),
    ...(pgb ? [{ variant: 'pgbench', reqPerSec: Math.round(pgb.tps * 10) / 10, p99Ms: pgb.p99Ms }] : []),
  ];
  const order = bars.map((b) => b.variant);
  const chart = (title: string, field: string, axis: string): ChartSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 200,
    data: { values: bars },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'variant', type: 'nominal', sort: order, title: null, axis: { labelAngle: 0 } },
      y: { field, type: 'quantitative', title: axis },
      color: { field: 'variant', type: 'nominal', sort: order, legend: null },
    },
  });
  const charts = [
    { file: 'api-throughput-rps.svg', spec: chart(`POST /api/v1/orders throughput (${data.sizes.connections} connections, closed loop)`, 'reqPerSec', 'requests/s (pgbench: transactions/s)') },
    { file: 'api-throughput-p99.svg', spec: chart('POST /api/v1/orders p99 latency', 'p99Ms', 'p99 latency (ms)') },
  ];

  const s = data.sizes;
  const notes = [
    `Closed loop: ${s.connections} concurrent connections (autocannon 9.0.0 in a child process), ${s.warmupSeconds} s warm-up per strategy, then ${s.seconds} s measured per strategy in ${s.rounds === 1 ? 'one round' : `${s.rounds} interleaved rounds (DB-only → naive → outbox, repeated), so background load on the shared box lands on all three`}; req/s counts 2xx responses only${s.rounds > 1 ? '; p50/p99 are the median of the rounds\' percentiles' : ''}.`,
    `The order service (pool ${s.connections}, the same as the load's concurrency) and the relay run in one process on the direct PostgreSQL and Kafka endpoints (no Toxiproxy), on the scratch database ${data.database} and topic ${data.topic} (recreated, then dropped). The relay runs during all three strategies; it only has work during outbox.`,
    'DB-only = POST /bench/orders, the service\'s own POST /api/v1/orders path minus the messaging (same body validation, same order row through the same model, same 201; BEGIN, INSERT order, COMMIT; nothing sent, nothing outboxed), mounted on the service\'s app by the benchmark alone (bench/src/lib/db-only-orders.ts). The service has no such strategy: it is not in WRITE_STRATEGIES, ORDER_WRITE_STRATEGY or the public OpenAPI schema, because a write that silently drops the event must never be reachable in the lab\'s real API.',
    drain ? `Outbox backlog after the load${(drain.rounds?.length ?? 1) > 1 ? ' (the slowest of the outbox rounds)' : ''}: ${drain.pendingAtEnd} rows still in the outbox when the load stopped; ${drain.drained ? `the relay had published them ${drain.ms} ms later` : `NOT drained within ${drain.ms} ms`}.` : 'No outbox drain measured.',
    data.audit ? `Audit (every naive and outbox order on the topic, DB-only orders excluded): ${data.audit.rows} orders, ${data.audit.messages} messages, ${data.audit.blackHoles} lost, ${data.audit.ghosts} ghosts, ${data.audit.duplicates} duplicated.` : 'The audit did not run.',
    pgb
      ? `pgbench: ${pgb.version}; \`${pgb.command}\` against the same scratch database after the service stopped (no relay): BEGIN; INSERT order … RETURNING; INSERT outbox; COMMIT (the outbox transaction, same columns and sizes), extended protocol like node-postgres; p50/p99 from its per-transaction log. It has no HTTP, JSON validation or ORM in the path: DB-only ÷ pgbench is the share of the database's ceiling the service reaches.`
      : `pgbench did not run: ${data.pgbench.ran ? '' : data.pgbench.reason}`,
    ...(data.excludedRounds?.length
      ? [`Round(s) ${data.excludedRounds.join(', ')} of ${s.rounds} had failed requests (PostgreSQL or Kafka restarted by another run on the shared stack?) and are left out of all three strategies' figures; they stay in the JSON (loads[].rounds).`]
      : []),
    ...data.loads
      .filter((l) => l.failed > 0)
      .map((l) => `${LABELS[l.strategy]}: ${l.failed} requests failed (status codes ${JSON.stringify(l.statusCodes)}); was PostgreSQL or Kafka restarted during the run? Its figures are not comparable: run the section again.`),
    'Shared 2-core box: the load generator, the service + relay, PostgreSQL and Kafka all compete for the same CPUs, so the absolute figures are this box\'s; the ratios are the comparable part. The orders table grows during the run (by a few MB).',
    ...extraNotes,
  ];
  return {
    id: 'api-throughput',
    title: 'Order API throughput: DB-only vs naive vs outbox (and pgbench)',
    table: { headers: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'requests ok', 'failed', 'outbox drained after the load'], rows },
    ratios,
    charts,
    data,
    notes,
    // The audit runs after the drain wait: an outbox row the relay never published is one of its black holes.
    lost: data.audit?.blackHoles ?? 0,
  };
}

export const apiThroughputSection: BenchSection = {
  id: 'api-throughput',
  title: 'Order API throughput: DB-only vs naive vs outbox (and pgbench)',
  run: (ctx) => runApiThroughput(ctx),
};
