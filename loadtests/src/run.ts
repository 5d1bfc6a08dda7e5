/**
 * The twin's stages, in the k6 script's order: add the latency toxic to the `kafka` proxy (setup), run the
 * burst with parallel unrelated calls (the two scenarios), remove the toxic (teardown), summarize
 * (handleSummary). Every undo step is registered before it is needed, so an error or a signal undoes it too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DwError, type LabConfig } from '@dual-write/config';
import { Cleanup, ToxicHelper, acquireLabLock, type AddedToxic } from '@dual-write/faults';
import { runPoolBurst, type PoolBurstResult } from '@dual-write/loadgen';
import { rowFigures, type Figures } from './summary.ts';
import { resolveTarget, type InProcessSystem } from './target.ts';
import { evaluateThresholds, type ThresholdVerdict } from './thresholds.ts';

/** Toxics the twin and the k6 script name theirs with; one found before a run was left by an interrupted run. */
export const TOXIC_PREFIXES = ['loadtest_pool_exhaustion', 'k6_pool_exhaustion'] as const;

export interface PoolLoadOptions {
  config: LabConfig;
  /** The order service to load; none: start the system in-process on a free port and stop it afterwards. */
  baseUrl?: string;
  strategy: string;
  latencyMs: number;
  burst: number;
  probes?: number;
  /** Take the lab lock for the run (false only when the caller holds it already, e.g. a test under useLab). */
  lock: boolean;
  /** Where the JSON report goes; default <repo>/results. */
  resultsDir?: string;
  /** Database and topic of the in-process system (a test passes its own). */
  system?: InProcessSystem;
  progress?: (line: string) => void;
  /** The CLI passes its own, so its signal handlers can run the same undo steps. */
  cleanup?: Cleanup;
  /** outbox strategy: how long to wait for the burst's outbox rows to be published after the toxic is lifted (default 60 s). */
  drainTimeoutMs?: number;
}

/** outbox strategy: how long the relay took, after the toxic was lifted, to publish (and delete) the burst's outbox rows. */
export interface OutboxDrain {
  /** Outbox rows of the burst (accepted orders' event ids). */
  events: number;
  /** Of those, still in the outbox when the toxic was lifted. */
  pendingAtLift: number;
  drained: boolean;
  /** From the toxic's removal until none of the burst's rows was left (or the timeout). */
  ms: number;
}

export interface PoolLoadReport {
  tool: 'node';
  startedAt: string;
  baseUrl: string;
  inProcess: boolean;
  strategy: string;
  latencyMs: number;
  burst: number;
  probes: number;
  /** The in-process service's pool (unknown for --base-url). */
  pool?: { max: number; acquireTimeoutMs: number };
  toxic: { proxy: 'kafka'; name: string; type: 'latency'; latencyMs: number };
  figures: Figures;
  thresholds: ThresholdVerdict[];
  result: PoolBurstResult;
  /** outbox strategy only. */
  drain?: OutboxDrain;
  /** The JSON report's path. */
  file: string;
}

export type PoolRunReport = Omit<PoolLoadReport, 'file'>;

async function removeLeftovers(faults: ToxicHelper, url: string, progress: (l: string) => void): Promise<void> {
  const names = await faults.list('kafka');
  const ours = names.filter((n) => TOXIC_PREFIXES.some((p) => n.startsWith(p)));
  for (const name of ours) {
    await deleteToxic(faults, name);
    progress(`removed toxic ${name}, left on the kafka proxy by an interrupted run`);
  }
  const others = names.filter((n) => !ours.includes(n));
  if (others.length) progress(`warning: the kafka proxy already has toxics ${others.join(', ')}; the figures include their effect`);
  if (!(await faults.proxy('kafka')).enabled) progress('warning: the kafka proxy is disabled (left so by an interrupted run?); every order will fail to publish. Re-enable it: curl -X POST ${url}/reset');
}

async function deleteToxic(faults: ToxicHelper, name: string): Promise<void> {
  const proxy = await faults.proxy('kafka');
  const toxic = await proxy.getToxic(name);
  await toxic.remove();
}

/** Writes `report` (with its own path as `file`) to <dir>/<prefix>-<startedAt>.json; returns the path. */
export function writeReport(dir: string, prefix: string, report: { startedAt: string }): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${prefix}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...report, file }, null, 2));
  return file;
}

/** Polls the outbox table (directly, not through a proxy) until none of `eventIds` is left or `timeoutMs` passes. */
async function measureDrain(databaseUrl: string, eventIds: string[], timeoutMs: number): Promise<OutboxDrain> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const t0 = performance.now();
    const left = async () => (await client.query<{ n: number }>('select count(*)::int as n from outbox where id = any($1::uuid[])', [eventIds])).rows[0]!.n;
    const pendingAtLift = await left();
    let n = pendingAtLift;
    while (n > 0 && performance.now() - t0 < timeoutMs) {
      await new Promise((r) => setTimeout(r, 25));
      n = await left();
    }
    return { events: eventIds.length, pendingAtLift, drained: n === 0, ms: Math.round(performance.now() - t0) };
  } finally {
    await client.end();
  }
}

/** One run and its JSON report (results/pool-exhaustion-<time>.json). */
export async function runPoolExhaustionLoad(opts: PoolLoadOptions): Promise<PoolLoadReport> {
  const report = await runPoolExhaustion(opts);
  return { ...report, file: writeReport(opts.resultsDir ?? path.join(opts.config.repoRoot, 'results'), 'pool-exhaustion', report) };
}

/** One run, no report file (runPoolExhaustionLoad and the comparison write theirs). */
export async function runPoolExhaustion(opts: PoolLoadOptions): Promise<PoolRunReport> {
  const { config, strategy, latencyMs, burst } = opts;
  const probes = opts.probes ?? 4;
  const progress = opts.progress ?? (() => {});
  const cleanup = opts.cleanup ?? new Cleanup();
  const startedAt = new Date().toISOString();
  return cleanup.around(async () => {
    if (opts.lock) {
      const release = await acquireLabLock(config, () => progress('waiting for the lab lock: a test run is using the proxies…'));
      cleanup.defer('release the lab lock', release);
    }
    const baseUrl = await resolveTarget({ config, baseUrl: opts.baseUrl, system: opts.system, cleanup, progress });

    const faults = new ToxicHelper(config.toxiproxy.url);
    const name = `${TOXIC_PREFIXES[0]}_${process.pid}`;
    let added: AddedToxic | undefined;
    // Registered before the toxic exists: a signal during the add still finds it by name.
    const removeToxic = cleanup.defer('remove the latency toxic from the kafka proxy', async () => {
      await faults.cleanup();
      if ((await faults.list('kafka')).includes(name)) await deleteToxic(faults, name);
      if (added) progress('toxic removed');
    });
    try {
      await removeLeftovers(faults, config.toxiproxy.url, progress);
      added = await faults.add('kafka', { name, type: 'latency', attributes: { latency: latencyMs, jitter: 0 } });
    } catch (err) {
      throw new DwError(
        'DW_STACK_NOT_RUNNING',
        `Toxiproxy at ${config.toxiproxy.url} did not take the latency toxic on the kafka proxy (${(err as Error).message}).`,
        'Start the stack (npm run stack -- up; `npm run loadtest` does it for you), or point --toxiproxy-url / TOXIPROXY_URL at your Toxiproxy.',
        undefined,
        { cause: err },
      );
    }
    progress(`toxic added: ${latencyMs} ms latency on the kafka proxy (${name})`);

    progress(`burst started: ${burst} × POST /api/v1/orders?strategy=${strategy}, with ${probes} loops on POST /api/v1/login and GET /api/v1/products?q=book`);
    // The unrelated endpoints are probed for at least the latency window, whatever the strategy (a fair comparison).
    const result = await runPoolBurst({ baseUrl, strategy, burst, probes, customerId: 'loadtest', minDurationMs: latencyMs });
    if (cleanup.started) throw new DwError('DW_PROCESS_FAILED', 'The run was interrupted during the burst; its figures are incomplete.', 'Run it again and let it finish.');
    progress(`burst done in ${(result.durationMs / 1000).toFixed(1)} s: orders ${result.orders.ok} ok / ${result.orders.failed} failed, unrelated ${result.unrelated.ok} ok / ${result.unrelated.failed} failed`);
    await removeToxic();
    let drain: OutboxDrain | undefined;
    if (strategy === 'outbox') {
      progress(`waiting for the relay to publish the burst's ${result.eventIds.length} outbox rows…`);
      drain = await measureDrain(opts.system?.directDatabaseUrl ?? config.database.url, result.eventIds, opts.drainTimeoutMs ?? 60_000);
      progress(drain.drained ? `outbox drained ${drain.ms} ms after the toxic was lifted (${drain.pendingAtLift} of ${drain.events} rows were still waiting)` : `outbox NOT drained ${drain.ms} ms after the toxic was lifted`);
    }

    const thresholds = evaluateThresholds(result.unrelated);
    const figures: Figures = {
      tool: 'node',
      strategy,
      latencyMs,
      burst,
      rows: { orders: rowFigures(result.orders), unrelated: rowFigures(result.unrelated), login: rowFigures(result.login), products: rowFigures(result.products) },
      thresholds,
    };
    return {
      tool: 'node',
      startedAt,
      baseUrl,
      inProcess: !opts.baseUrl,
      strategy,
      latencyMs,
      burst,
      probes,
      ...(opts.baseUrl ? {} : { pool: { max: config.orderService.poolMax, acquireTimeoutMs: config.orderService.poolAcquireTimeoutMs } }),
      toxic: { proxy: 'kafka', name, type: 'latency', latencyMs },
      figures,
      thresholds,
      result,
      ...(drain ? { drain } : {}),
    };
  }, {
    say: progress,
    // A toxic or a service left behind matters more than the figures: it is reported even after a good run.
    hint: `Remove what was left: curl -X DELETE ${config.toxiproxy.url}/proxies/kafka/toxics/<name> (curl ${config.toxiproxy.url}/proxies/kafka/toxics lists them).`,
  });
}
