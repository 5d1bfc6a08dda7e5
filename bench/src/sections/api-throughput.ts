/**
 * Order API throughput — where the writer's price goes. The same closed-loop load (fixed concurrency, same
 * duration) on the order write in every mode of ./api-modes.ts, side by side in one run, in interleaved rounds:
 * DB-only (the order INSERT alone), + a plain second INSERT of the outbox row's size, naive (transaction + awaited
 * Kafka send), the outbox with NOTIFY off (relay polling), the outbox as shipped (NOTIFY on, relay LISTENing in
 * the service's process), the same with the relay in its own process, with the relay stopped, and CDC when
 * @dual-write/relay has it — plus pgbench running the same transactions as the database's own ceiling.
 *
 * Set-up, like `npm run test-scenario`: a scratch database and topic recreated for the run; the order service in
 * this process on the direct PostgreSQL and Kafka endpoints (no Toxiproxy in the path); the relay switched per
 * mode (./api-relay.ts); the NOTIFY trigger enabled or disabled per mode (ALTER TABLE between turns). The load
 * generator (autocannon) is a child process, so it does not share the service's event loop.
 *
 * DB-only and the second INSERT are the service's own code path minus (part of) the messaging: routes only this
 * benchmark mounts on the service's app (../lib/db-only-orders.ts, ../lib/second-insert-orders.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import promClient from 'prom-client';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { runAudit } from '@dual-write/audit';
import { SAMPLE_ITEMS } from '@dual-write/loadgen';
import { dropDatabaseAndTopic as dropScratch, recreateDatabaseAndTopic as recreateScratch } from '@dual-write/lab';
import { detectHostageConnections, type HostageDetector } from '@dual-write/detector';
import { buildApp, type App } from '@dual-write/order-service';
import { outboxTables } from '@dual-write/outbox';
import { dbOnlyOrders } from '../lib/db-only-orders.ts';
import { createSecondInsertTable, secondInsertOrders } from '../lib/second-insert-orders.ts';
import { runCaptured } from '../lib/proc.ts';
import type { BenchSection, ChartSpec, Ratio, SectionContext, SectionResult } from '../types.ts';
import { API_MODES, modeById, type ApiMode, type ApiModeId } from './api-modes.ts';
import { cdcUnavailable, dropCdcLeftovers, RelaySwitch } from './api-relay.ts';
import { PGBENCH_INSTALL, pgbenchVersion, runPgbench, type PgbenchResult, type PgbenchSecondInsert } from './pgbench.ts';

export { API_MODES, type ApiMode, type ApiModeId };

const CUSTOMER_ID = 'bench-api';

export interface ApiSizes {
  /** Measured seconds per mode (split evenly over the rounds). */
  seconds: number;
  /**
   * The modes take turns (DB-only, + 2nd INSERT, naive, outbox …, DB-only, …) in this many rounds, so a change
   * in the shared box's background load lands on all of them instead of on whichever ran at that moment.
   */
  rounds: number;
  /** Unmeasured seconds per mode before it (connections, JIT, the producer's first metadata). */
  warmupSeconds: number;
  /** Seconds of each pgbench variant (order only, + plain INSERT, + outbox NOTIFY off, + outbox). */
  pgbenchSeconds: number;
  /** Closed-loop concurrency: HTTP connections, the service's pool size, and pgbench's clients. */
  connections: number;
  /** How long to wait for the outbox to empty after the outbox load. */
  drainTimeoutMs: number;
}

export function apiSizes(quick: boolean): ApiSizes {
  return quick
    ? { seconds: 1, rounds: 1, warmupSeconds: 1, pgbenchSeconds: 1, connections: 10, drainTimeoutMs: 60_000 } // --quick (CI) only proves the harness: its figures are not read
    : { seconds: 20, rounds: 4, warmupSeconds: 3, pgbenchSeconds: 10, connections: 10, drainTimeoutMs: 120_000 };
}

/** What autocannon measured for one mode (over all its rounds). */
export interface LoadFigures {
  mode: ApiModeId;
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

/** One mode's rounds as one figure: counts and time summed, latency percentiles as the rounds' median. */
export function combineRounds(rounds: Omit<LoadFigures, 'rounds'>[]): LoadFigures {
  const first = rounds[0]!;
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const ok = rounds.reduce((n, r) => n + r.ok, 0);
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    mode: first.mode,
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

/** An outbox mode: the backlog when the load stopped and how long the relay took to publish it (the slowest round). */
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

export function toLoadFigures(mode: ApiModeId, connections: number, r: AutocannonJson): Omit<LoadFigures, 'rounds'> {
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = s.count;
  return {
    mode,
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

/** The outbox's NOTIFY trigger on or off (the default outbox's; between turns, never during a load). */
async function setNotifyTrigger(databaseUrl: string, on: boolean): Promise<void> {
  const t = outboxTables();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`alter table ${t.outbox} ${on ? 'enable' : 'disable'} trigger "${t.names.notifyTrigger}"`);
  } finally {
    await client.end();
  }
}

// ── pgbench: the database's side of the decomposition ──────────────────────────────────────────────────────

export interface PgbenchVariant {
  id: 'order-only' | 'second-insert' | 'outbox-no-notify' | 'outbox';
  label: string;
  second: PgbenchSecondInsert;
  notify: boolean;
}

export const PGBENCH_VARIANTS: readonly PgbenchVariant[] = [
  { id: 'order-only', label: 'pgbench: order INSERT only', second: 'none', notify: true },
  { id: 'second-insert', label: 'pgbench: + 2nd INSERT (plain table)', second: 'plain', notify: true },
  { id: 'outbox-no-notify', label: 'pgbench: + outbox row, NOTIFY off', second: 'outbox', notify: false },
  { id: 'outbox', label: 'pgbench: + outbox row (NOTIFY on)', second: 'outbox', notify: true },
];

export type PgbenchRun = { ran: true; results: (PgbenchResult & { variant: PgbenchVariant['id'] })[] } | { ran: false; reason: string };

async function runPgbenchVariants(ctx: SectionContext, databaseUrl: string, sizes: ApiSizes): Promise<PgbenchRun> {
  try {
    const version = await pgbenchVersion();
    if (!version) return { ran: false, reason: `pgbench is not installed (it is not part of the embedded PostgreSQL binaries). Install it: ${PGBENCH_INSTALL}` };
    const dir = path.join(ctx.outDir, 'pgbench');
    await mkdir(dir, { recursive: true });
    const results: (PgbenchResult & { variant: PgbenchVariant['id'] })[] = [];
    for (const v of PGBENCH_VARIANTS) {
      await setNotifyTrigger(databaseUrl, v.notify);
      ctx.progress(`api-throughput: ${version}, ${v.label} for ${sizes.pgbenchSeconds} s with ${sizes.connections} clients…`);
      const result = await runPgbench({ databaseUrl, clients: sizes.connections, seconds: sizes.pgbenchSeconds, dir, customerId: CUSTOMER_ID, items: SAMPLE_ITEMS, second: v.second, scriptName: `pgbench-${v.id}.sql`, progress: (l) => ctx.progress(`  ${l}`) });
      results.push({ ...result, variant: v.id });
      ctx.progress(`  ${v.label}: ${result.tps.toFixed(1)} tps, p99 ${result.p99Ms} ms (${result.transactions} transactions, ${result.failed} failed)`);
    }
    await setNotifyTrigger(databaseUrl, true);
    return { ran: true, results };
  } catch (err) {
    return { ran: false, reason: `pgbench failed: ${(err as Error).message}` };
  }
}

// ── the section ───────────────────────────────────────────────────────────────────────────────────────────

export interface ApiThroughputData {
  sizes: ApiSizes;
  database: string;
  topic: string;
  /** The modes measured, in turn order. */
  modes: ApiModeId[];
  /** Modes that could not run here (e.g. CDC before @dual-write/relay has it), with the reason. */
  unavailable: { mode: ApiModeId; reason: string }[];
  loads: LoadFigures[];
  /** Rounds (1-based) left out of the figures because some request failed in them (still in each load's `rounds`). */
  excludedRounds?: number[];
  /** Per outbox mode: the slowest of its rounds' drains after the load. */
  outboxDrains: Partial<Record<ApiModeId, DrainFigures>>;
  /**
   * Per mode whose relay ran in this process: messages it published and batches it sent during the measured turns
   * (with the drain after each): how the relay worked — many small batches or fewer large ones.
   */
  relayWork?: Partial<Record<ApiModeId, { published: number; batches: number }>>;
  audit?: { rows: number; messages: number; blackHoles: number; ghosts: number; duplicates: number };
  /** Per detector mode: the hostage reports during its turns (warm-up, probes and drains included). */
  detectorReports?: Partial<Record<ApiModeId, number>>;
  pgbench: PgbenchRun;
}

export interface ApiThroughputOptions {
  sizes?: Partial<ApiSizes>;
  database?: string;
  topic?: string;
  /** Only these modes (default: every mode of API_MODES that can run here). */
  modes?: readonly ApiModeId[];
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
  const adminUrl = withDatabase(config.database.url, 'postgres');
  const notes: string[] = [];
  const say = ctx.progress;

  say(`api-throughput: preparing database ${database} and topic ${topic}…`);
  await dropCdcLeftovers(adminUrl, database, databaseUrl); // a killed run's CDC slot would block the DROP DATABASE
  await recreateScratch(config, database, topic);
  try {
    return await measure();
  } finally {
    const slots = await dropCdcLeftovers(adminUrl, database, databaseUrl).catch((err: unknown) => [`(failed: ${(err as Error).message})`]);
    if (slots.length) say(`api-throughput: dropped replication slot(s) ${slots.join(', ')}`);
    if (!opts.keepScratch) {
      const problem = await dropScratch(config, database, topic);
      if (problem) say(`api-throughput: ${problem}`);
    }
  }

  async function measure(): Promise<SectionResult> {
    let app: App | undefined;
    const relay = new RelaySwitch({ databaseUrl, brokers: config.kafka.brokers, topic, afterCdc: () => dropCdcLeftovers(adminUrl, database, databaseUrl) });
    const unavailable: ApiThroughputData['unavailable'] = [];
    let modes = API_MODES.filter((m) => !opts.modes || opts.modes.includes(m.id));
    const cdcWhy = cdcUnavailable({ databaseUrl, brokers: config.kafka.brokers, topic });
    if (cdcWhy && modes.some((m) => m.relay === 'cdc')) {
      unavailable.push({ mode: 'cdc', reason: cdcWhy });
      modes = modes.filter((m) => m.relay !== 'cdc');
    }
    const loads: LoadFigures[] = [];
    const outboxDrains: ApiThroughputData['outboxDrains'] = {};
    const relayWork: NonNullable<ApiThroughputData['relayWork']> = {};
    let audit: ApiThroughputData['audit'];
    let excludedRounds: number[] | undefined;
    let notifyOn = true;
    /** The hostage-connection detector of the detector modes; its reports are counted per mode. */
    let detector: HostageDetector | undefined;
    let detectorMode: ApiModeId | undefined;
    const detectorReports: Partial<Record<ApiModeId, number>> = {};
    const startDetector = (mode?: ApiModeId) => {
      detectorMode = mode;
      detector = detectHostageConnections({
        pg,
        kafkajs,
        prometheus: { client: promClient, registry: new promClient.Registry() },
        onReport: () => {
          if (detectorMode) detectorReports[detectorMode] = (detectorReports[detectorMode] ?? 0) + 1;
        },
      });
    };
    const stopDetector = () => {
      detector?.stop();
      detector = undefined;
    };
    try {
      // The app is built while a detector runs, so its request hook and its Kafka producer carry the detector's
      // thin wrappers in every mode (they pass straight through while no detector runs): only the detector differs.
      startDetector();
      app = await buildApp({ config, databaseUrl, directDatabaseUrl: databaseUrl, topic, onRequest: [detector!.fastifyHook], plugins: [dbOnlyOrders, secondInsertOrders] }).finally(stopDetector);
      await app.fastify.listen({ host: '127.0.0.1', port: 0 });
      const setup = new pg.Client({ connectionString: databaseUrl });
      await setup.connect();
      await createSecondInsertTable(setup).finally(() => setup.end());
      const base = app.url();
      const urlFor = (m: ApiMode) => `${base}${m.path}`;
      const bodyFor = (m: ApiMode) => ({ customerId: CUSTOMER_ID, items: SAMPLE_ITEMS, strategy: m.strategy });
      say(`api-throughput: order service on ${base} (pool ${config.orderService.poolMax}); ${sizes.connections} connections, ${sizes.warmupSeconds} s warm-up + ${sizes.seconds} s per mode in ${sizes.rounds} round(s); modes: ${modes.map((m) => m.label).join(' → ')}`);

      /** The mode's state: its relay and its NOTIFY trigger. */
      const enter = async (m: ApiMode) => {
        if (!m.detector && detector) stopDetector();
        if (m.detector && !detector) startDetector(m.id);
        detectorMode = m.id;
        if (m.notify !== notifyOn) {
          await relay.use('none'); // ALTER TABLE waits for no one
          await setNotifyTrigger(databaseUrl, m.notify);
          notifyOn = m.notify;
        }
        await relay.use(m.relay);
      };
      /** After an outbox mode: its rows are published before the next turn (a relay is started if none runs). */
      const drainAfter = async (m: ApiMode) => {
        if (!m.outboxed) return undefined;
        if (relay.current === 'none') await relay.use('listen');
        return measureOutboxDrain(databaseUrl, sizes.drainTimeoutMs);
      };
      /** A mode that cannot be set up (e.g. the CDC relay does not start) is reported, not fatal. */
      const tryEnter = async (m: ApiMode) => {
        try {
          await enter(m);
          return true;
        } catch (err) {
          unavailable.push({ mode: m.id, reason: `its set-up failed: ${(err as Error).message.split('\n')[0]}` });
          say(`  ${m.label}: cannot run here (${(err as Error).message.split('\n')[0]}); left out`);
          modes = modes.filter((x) => x.id !== m.id);
          await relay.use('none').catch(() => {});
          return false;
        }
      };

      for (const m of [...modes]) {
        if (!(await tryEnter(m))) continue;
        await probeOrder(urlFor(m), bodyFor(m), say);
        if (sizes.warmupSeconds > 0) await autocannon(urlFor(m), bodyFor(m), sizes.connections, sizes.warmupSeconds);
        await drainAfter(m); // the measured rounds start with an empty outbox
      }
      const perRound = Math.max(1, Math.round(sizes.seconds / sizes.rounds));
      const rounds = new Map<ApiModeId, Omit<LoadFigures, 'rounds'>[]>(modes.map((m) => [m.id, []]));
      const drains = new Map<ApiModeId, Omit<DrainFigures, 'rounds'>[]>();
      for (let round = 1; round <= sizes.rounds; round++) {
        for (const m of [...modes]) {
          if (!(await tryEnter(m))) {
            rounds.delete(m.id);
            continue;
          }
          const before = relay.counts();
          const figures = toLoadFigures(m.id, sizes.connections, await autocannon(urlFor(m), bodyFor(m), sizes.connections, perRound));
          rounds.get(m.id)!.push(figures);
          say(`  ${sizes.rounds > 1 ? `round ${round}/${sizes.rounds} ` : ''}${m.label}: ${figures.reqPerSec} req/s, p99 ${figures.p99Ms} ms (${figures.ok} ok, ${figures.failed} failed)`);
          const d = await drainAfter(m);
          const after = relay.counts();
          if (before && after && m.relay === relay.current) {
            const w = relayWork[m.id] ?? { published: 0, batches: 0 };
            relayWork[m.id] = { published: w.published + after.published - before.published, batches: w.batches + after.batches - before.batches };
          }
          if (d) {
            drains.set(m.id, [...(drains.get(m.id) ?? []), d]);
            say(`    backlog: ${d.pendingAtEnd} rows when the load stopped, ${d.drained ? `published in ${d.ms} ms` : `NOT drained after ${d.ms} ms`}`);
          }
        }
      }
      stopDetector();
      await relay.use('none');
      if (!notifyOn) await setNotifyTrigger(databaseUrl, true);
      notifyOn = true;
      // A round in which any mode had failures (PostgreSQL or Kafka restarted by someone's chaos test) is left out
      // of all of them, as long as a clean round remains: the modes stay compared on the same rounds.
      const all = Array.from({ length: sizes.rounds }, (_, i) => i);
      const clean = all.filter((i) => modes.every((m) => (rounds.get(m.id)![i]?.failed ?? 0) === 0));
      const used = clean.length > 0 && clean.length < sizes.rounds ? clean : all;
      excludedRounds = all.filter((i) => !used.includes(i)).map((i) => i + 1);
      if (excludedRounds.length) say(`  round(s) ${excludedRounds.join(', ')} had failed requests: left out of every mode's figures`);
      for (const m of modes) {
        const mine = rounds.get(m.id)!;
        loads.push({ ...combineRounds(used.map((i) => mine[i]!)), rounds: mine });
        const ds = drains.get(m.id);
        if (ds?.length) {
          const usedDrains = used.map((i) => ds[i]!);
          const slowest = usedDrains.reduce((a, b) => (!a.drained ? a : !b.drained || b.ms > a.ms ? b : a), usedDrains[0]!);
          outboxDrains[m.id] = { ...slowest, rounds: ds };
        }
      }
      if (sizes.rounds > 1) for (const l of loads) say(`  ${modeById(l.mode).label} over ${sizes.rounds} rounds: ${l.reqPerSec} req/s, p99 ${l.p99Ms} ms`);

      say('api-throughput: auditing the topic against the naive and outbox orders…');
      const counts = await auditMessaged(config, databaseUrl, topic);
      audit = { rows: counts.rows, messages: counts.messages, blackHoles: counts.blackHoles, ghosts: counts.ghosts, duplicates: counts.duplicates };
      say(`  ${counts.rows} orders, ${counts.messages} messages: ${counts.blackHoles} lost, ${counts.ghosts} ghosts, ${counts.duplicates} duplicated`);
    } finally {
      stopDetector();
      await relay.stop().catch((err: unknown) => notes.push(`relay stop failed: ${(err as Error).message}`));
      await app?.close().catch((err: unknown) => notes.push(`order service close failed: ${(err as Error).message}`));
    }

    const pgbench = await runPgbenchVariants(ctx, databaseUrl, sizes);
    if (!pgbench.ran) say(`api-throughput: ${pgbench.reason}`);
    const data: ApiThroughputData = { sizes, database, topic, modes: modes.map((m) => m.id), unavailable, loads, excludedRounds, outboxDrains, relayWork, audit, detectorReports, pgbench };
    await mkdir(ctx.outDir, { recursive: true });
    await writeFile(path.join(ctx.outDir, 'api-throughput.json'), JSON.stringify(data, null, 2));
    return summarizeApiThroughput(data, notes);
  }
}

const fmt2 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '–');
const r3 = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/** Table, ratios, charts and notes from the measured figures (pure: the --quick test can check it). */
export function summarizeApiThroughput(data: ApiThroughputData, extraNotes: string[] = []): SectionResult {
  const by = (id: ApiModeId) => data.loads.find((l) => l.mode === id);
  const dbOnly = by('db-only');
  const naive = by('naive');
  const outbox = by('outbox');
  const pgbs = data.pgbench.ran ? data.pgbench.results : [];
  const pgb = (id: PgbenchVariant['id']) => pgbs.find((r) => r.variant === id);
  const pgbOutbox = pgb('outbox');
  const pgbOrderOnly = pgb('order-only');
  const drainCell = (d: DrainFigures | undefined) => (d ? (d.drained ? `${d.ms} ms (${d.pendingAtEnd} rows waiting)` : `not drained after ${d.ms} ms (${d.pendingAtEnd} rows waiting)`) : '–');

  const rows: (string | number)[][] = data.loads.map((l) => {
    const m = modeById(l.mode);
    const prev = m.after ? by(m.after) : undefined;
    const work = data.relayWork?.[l.mode];
    const perBatch = work && work.batches > 0 ? (work.published / work.batches).toFixed(1) : '–';
    return [m.label, l.reqPerSec, dbOnly ? fmt2(l.reqPerSec / dbOnly.reqPerSec) : '–', prev ? `${fmt2(l.reqPerSec / prev.reqPerSec)} (of ${modeById(prev.mode).label})` : '–', l.p50Ms, l.p99Ms, l.ok, l.failed, perBatch, drainCell(data.outboxDrains[l.mode])];
  });
  for (const u of data.unavailable) rows.push([modeById(u.mode).label, 'not available', '–', '–', '–', '–', '–', '–', '–', '–']);
  for (const r of pgbs) {
    const v = PGBENCH_VARIANTS.find((x) => x.id === r.variant)!;
    rows.push([`${v.label} (${r.clients} clients)`, Math.round(r.tps * 10) / 10, pgbOrderOnly ? `${fmt2(r.tps / pgbOrderOnly.tps)} (of pgbench order only)` : '–', '–', r.p50Ms, r.p99Ms, r.transactions, r.failed, '–', '–']);
  }
  if (!data.pgbench.ran) rows.push(['pgbench', 'not run', '–', '–', '–', '–', '–', '–', '–', '–']);

  const ratios: Ratio[] = [];
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const ratio = (name: string, measured: string, reference: string, a: number | undefined, b: number | undefined) => {
    if (a !== undefined && b !== undefined && b > 0) ratios.push({ name, measured: `${measured} ${n(a)}`, reference: `${reference} ${n(b)}`, value: r3(a, b) });
  };
  ratio('API throughput: outbox ÷ DB-only (req/s)', 'outbox req/s', 'DB-only req/s', outbox?.reqPerSec, dbOnly?.reqPerSec);
  ratio('API throughput: outbox ÷ naive (req/s)', 'outbox req/s', 'naive req/s', outbox?.reqPerSec, naive?.reqPerSec);
  // The hostage-connection detector's cost: the same write with and without it, side by side.
  ratio('API throughput: naive + hostage detector ÷ naive (req/s; it fires on every request)', 'with the detector req/s', 'without req/s', by('naive-detector')?.reqPerSec, naive?.reqPerSec);
  ratio('API throughput: outbox + hostage detector ÷ outbox (req/s; it watches, never fires)', 'with the detector req/s', 'without req/s', by('outbox-detector')?.reqPerSec, outbox?.reqPerSec);
  for (const id of ['second-insert', 'outbox-polling', 'outbox-relay-process', 'outbox-relay-stopped', 'cdc'] as const) {
    const l = by(id);
    ratio(`API throughput: ${modeById(id).label} ÷ DB-only (req/s)`, `${modeById(id).label} req/s`, 'DB-only req/s', l?.reqPerSec, dbOnly?.reqPerSec);
  }
  const best = data.loads.filter((l) => modeById(l.mode).deployable).sort((a, b) => b.reqPerSec - a.reqPerSec)[0];
  if (best) ratio(`API throughput: best outbox mode (${modeById(best.mode).label}) ÷ DB-only (req/s)`, 'best outbox mode req/s', 'DB-only req/s', best.reqPerSec, dbOnly?.reqPerSec);
  ratio('API throughput: DB-only ÷ pgbench (req/s ÷ tps)', 'DB-only req/s', 'pgbench tps (order + outbox)', dbOnly?.reqPerSec, pgbOutbox?.tps);
  // The same transaction on both sides: how much of the database's ceiling the outbox API reaches.
  ratio('API throughput: outbox ÷ pgbench (req/s ÷ tps)', 'outbox req/s', 'pgbench tps (order + outbox)', outbox?.reqPerSec, pgbOutbox?.tps);
  ratio('API throughput: pgbench order + outbox ÷ order only (tps)', 'pgbench order + outbox tps', 'pgbench order only tps', pgbOutbox?.tps, pgbOrderOnly?.tps);

  const bars = [
    ...data.loads.map((l) => ({ variant: modeById(l.mode).label, reqPerSec: l.reqPerSec, p99Ms: l.p99Ms, kind: 'API (req/s)' })),
    ...pgbs.map((r) => ({ variant: PGBENCH_VARIANTS.find((x) => x.id === r.variant)!.label, reqPerSec: Math.round(r.tps * 10) / 10, p99Ms: r.p99Ms, kind: 'pgbench (tps)' })),
  ];
  const order = bars.map((b) => b.variant);
  const chart = (title: string, field: string, axis: string): ChartSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 22 * Math.max(4, bars.length),
    data: { values: bars },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'variant', type: 'nominal', sort: order, title: null, axis: { labelLimit: 1000 } },
      x: { field, type: 'quantitative', title: axis },
      color: { field: 'kind', type: 'nominal', title: null },
    },
  });
  const charts = [
    { file: 'api-throughput-rps.svg', spec: chart(`Order write throughput per mode (${data.sizes.connections} connections, closed loop)`, 'reqPerSec', 'requests/s (pgbench: transactions/s)') },
    { file: 'api-throughput-p99.svg', spec: chart('Order write p99 latency per mode', 'p99Ms', 'p99 latency (ms)') },
  ];

  const s = data.sizes;
  const modeNotes = data.loads.map((l) => {
    const m = modeById(l.mode);
    const prev = m.after ? by(m.after) : undefined;
    return `**${m.label}** — ${dbOnly ? `${fmt2(l.reqPerSec / dbOnly.reqPerSec)} of DB-only` : ''}${prev ? `, ${fmt2(l.reqPerSec / prev.reqPerSec)} of "${modeById(prev.mode).label}"` : ''}: ${m.explains}`;
  });
  const goal = best && dbOnly
    ? `**Goal (reported, not asserted): API outbox ÷ DB-only ≥ 0.8 in the best mode** — the best deployable mode here is "${modeById(best.mode).label}" at ${fmt2(best.reqPerSec / dbOnly.reqPerSec)} (${n(best.reqPerSec)} vs ${n(dbOnly.reqPerSec)} req/s): ${best.reqPerSec / dbOnly.reqPerSec >= 0.8 ? 'met' : 'not met'}.`
    : 'Goal (outbox ÷ DB-only ≥ 0.8 in the best mode): not measured.';
  const pgbNote = pgbs.length && pgbOrderOnly
    ? `pgbench, the database's side of the same steps (no HTTP, validation or ORM; after the service stopped, no relay): ${pgbs.map((r) => `${PGBENCH_VARIANTS.find((x) => x.id === r.variant)!.label.replace('pgbench: ', '')} ${n(r.tps)} tps (${fmt2(r.tps / pgbOrderOnly.tps)})`).join(' · ')}. Each ${s.pgbenchSeconds} s, ${pgbs[0]!.clients} clients, \`${pgbs[0]!.command.replace(/pgbench-[a-z-]+\.sql/, '<variant>.sql').replace(/--log-prefix=\S+/, '--log-prefix=…')}\`; ${pgbs[0]!.version}; extended protocol like node-postgres; p50/p99 from its per-transaction log. DB-only ÷ pgbench (order + outbox) is the share of the database's ceiling the service reaches.`
    : `pgbench did not run: ${data.pgbench.ran ? 'no results' : data.pgbench.reason}`;
  const notes = [
    goal,
    ...modeNotes,
    ...data.unavailable.map((u) => `**${modeById(u.mode).label}** — not measured: ${u.reason}. ${modeById(u.mode).explains}`),
    `Closed loop: ${s.connections} concurrent connections (autocannon 9.0.0 in a child process), ${s.warmupSeconds} s warm-up per mode, then ${s.seconds} s measured per mode in ${s.rounds === 1 ? 'one round' : `${s.rounds} interleaved rounds (every mode in turn, repeated), so background load on the shared box lands on all of them`}; req/s counts 2xx responses only${s.rounds > 1 ? '; p50/p99 are the median of the rounds\' percentiles' : ''}. Between turns the NOTIFY trigger is switched with ALTER TABLE and the relay started or stopped (never during a load); an outbox mode's rows are published before the next turn (the "drained" column: the slowest round).`,
    '"relay msgs per batch": messages the relay published ÷ Kafka batches it sent during the mode\'s measured turns and the drain after each (the in-process relays; a child process is not counted) — how much work each read, delete and produce request carried.',
    `The order service (pool ${s.connections}, the same as the load's concurrency) runs in this process on the direct PostgreSQL and Kafka endpoints (no Toxiproxy), on the scratch database ${data.database} and topic ${data.topic} (recreated, then dropped). The relay runs only in the modes that publish: in this process (LISTEN or polling, batch 500, poll 1 s), or as a child process (services/relay).`,
    'DB-only = POST /bench/orders and "+ 2nd INSERT" = POST /bench/orders-second-insert, the service\'s own POST /api/v1/orders path minus the messaging (same body validation, same order row through the same model, same 201), mounted on the service\'s app by the benchmark alone (bench/src/lib/db-only-orders.ts, second-insert-orders.ts). The service has no such strategies: a write that silently drops the event must never be reachable in the lab\'s real API.',
    ...(data.detectorReports && (by('naive-detector') || by('outbox-detector'))
      ? [`Hostage detector reports during its modes' turns (warm-up and drains included): ${(['naive-detector', 'outbox-detector'] as const).filter((id) => by(id)).map((id) => `${modeById(id).label} ${data.detectorReports?.[id] ?? 0}`).join(' · ')} — every naive request is one; the outbox none. Outside these modes no detector runs; the app's request hook and Kafka producer keep the detector's pass-through wrappers in every mode, so only the detector itself differs.`]
      : []),
    data.audit ? `Audit (every naive and outbox order on the topic; DB-only and second-insert orders excluded): ${data.audit.rows} orders, ${data.audit.messages} messages, ${data.audit.blackHoles} lost, ${data.audit.ghosts} ghosts, ${data.audit.duplicates} duplicated.` : 'The audit did not run.',
    pgbNote,
    ...(data.excludedRounds?.length
      ? [`Round(s) ${data.excludedRounds.join(', ')} of ${s.rounds} had failed requests (PostgreSQL or Kafka restarted by another run on the shared stack?) and are left out of every mode's figures; they stay in the JSON (loads[].rounds).`]
      : []),
    ...data.loads
      .filter((l) => l.failed > 0)
      .map((l) => `${modeById(l.mode).label}: ${l.failed} requests failed (status codes ${JSON.stringify(l.statusCodes)}); was PostgreSQL or Kafka restarted during the run? Its figures are not comparable: run the section again.`),
    'Shared 2-core box: the load generator, the service (+ relay), PostgreSQL and Kafka all compete for the same CPUs, so the absolute figures are this box\'s; the ratios are the comparable part. The orders table grows during the run (by a few MB).',
    ...extraNotes,
  ];
  return {
    id: 'api-throughput',
    title: apiThroughputSection.title,
    table: { headers: ['mode', 'req/s', '÷ DB-only', '÷ previous step', 'p50 ms', 'p99 ms', 'requests ok', 'failed', 'relay msgs per batch', 'outbox published after the load'], rows },
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
  title: 'Order API throughput: where the writer\'s price goes (DB-only → second INSERT → outbox, per mode; pgbench)',
  run: (ctx) => runApiThroughput(ctx),
};
