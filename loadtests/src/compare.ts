/**
 * `pool-exhaustion --compare`: the same burst (latency, size, probes) with the naive strategy, then with the
 * outbox, one after the other under one lab lock, and a side-by-side table of the two, with how long the
 * outbox backlog took to drain once the toxic was lifted. One JSON report.
 */
import path from 'node:path';
import { DwError } from '@dual-write/config';
import { Cleanup, acquireLabLock } from '@dual-write/faults';
import { runPoolExhaustion, writeReport, type PoolLoadOptions, type PoolRunReport } from './run.ts';

export const COMPARED = ['naive', 'outbox'] as const;
export type ComparedStrategy = (typeof COMPARED)[number];

export interface CompareReport {
  tool: 'node';
  kind: 'pool-exhaustion-compare';
  startedAt: string;
  latencyMs: number;
  burst: number;
  probes: number;
  runs: Record<ComparedStrategy, PoolRunReport>;
  /** The JSON report's path. */
  file: string;
}

export async function runPoolExhaustionCompare(opts: Omit<PoolLoadOptions, 'strategy'>): Promise<CompareReport> {
  const progress = opts.progress ?? (() => {});
  const cleanup = opts.cleanup ?? new Cleanup();
  const startedAt = new Date().toISOString();
  const runs: Partial<Record<ComparedStrategy, PoolRunReport>> = {};
  await cleanup.around(async () => {
    if (opts.lock) {
      const release = await acquireLabLock(opts.config, () => progress('waiting for the lab lock: a test run is using the proxies…'));
      cleanup.defer('release the lab lock', release);
    }
    for (const strategy of COMPARED) {
      if (cleanup.started) throw new DwError('DW_PROCESS_FAILED', 'The comparison was interrupted; its figures are incomplete.', 'Run it again and let it finish.');
      // Each run undoes (and reports) its own steps; a signal reaches them through the outer cleanup.
      const inner = new Cleanup();
      const stop = cleanup.defer(`stop the ${strategy} run`, async () => void (await inner.runAll()));
      progress(`── ${strategy} ──`);
      runs[strategy] = await runPoolExhaustion({ ...opts, strategy, lock: false, cleanup: inner });
      await stop();
    }
  }, { say: progress, hint: `Check the kafka proxy's toxics: curl ${opts.config.toxiproxy.url}/proxies/kafka/toxics` });
  const naive = runs.naive!;
  const report: Omit<CompareReport, 'file'> = {
    tool: 'node',
    kind: 'pool-exhaustion-compare',
    startedAt,
    latencyMs: opts.latencyMs,
    burst: opts.burst,
    probes: naive.probes,
    runs: { naive, outbox: runs.outbox! },
  };
  const file = writeReport(opts.resultsDir ?? path.join(opts.config.repoRoot, 'results'), 'pool-exhaustion-compare', report);
  return { ...report, file };
}

/** True when the outbox run kept the unrelated endpoints healthy and its backlog drained. */
export function outboxHeld(r: Pick<CompareReport, 'runs'>): boolean {
  const o = r.runs.outbox;
  return o.thresholds.every((t) => t.ok) && o.drain?.drained === true;
}

/** The two runs side by side. */
export function formatCompare(r: Omit<CompareReport, 'file'>): string {
  const col = (run: PoolRunReport): string[] => {
    const { orders, unrelated } = run.figures.rows;
    const crossed = run.thresholds.filter((t) => !t.ok).length;
    const errors = Object.entries(unrelated.errors).filter(([, n]) => n > 0);
    const d = run.drain;
    return [
      `${orders.ok} / ${orders.failed}`,
      String(Math.round(orders.p99Ms)),
      `${unrelated.ok} / ${unrelated.failed}`,
      String(Math.round(unrelated.p99Ms)),
      errors.length ? errors.map(([k, n]) => `${k} ${n}`).join(', ') : '–',
      `${crossed} of ${run.thresholds.length}`,
      d ? (d.drained ? `${d.ms} ms (${d.pendingAtLift}/${d.events} rows waiting)` : `not drained after ${d.ms} ms`) : '– (no outbox)',
    ];
  };
  const labels = ['orders ok / failed', 'orders p99 ms', 'unrelated ok / failed', 'unrelated p99 ms', 'unrelated errors', 'thresholds crossed', 'outbox drained after lift'];
  const cols = COMPARED.map((s) => col(r.runs[s]));
  const header = ['', ...COMPARED];
  const rows = labels.map((l, i) => [l, ...cols.map((c) => c[i]!)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join(' │ ')
      .trimEnd();
  return [
    `pool exhaustion · naive vs outbox · kafka latency ${r.latencyMs} ms · burst ${r.burst} · probes ${r.probes} · node`,
    '',
    line(header),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map(line),
    '',
    `thresholds: ${r.runs.naive.thresholds.map((t) => `${t.metric} ${t.expr}`).join(', ')}`,
  ].join('\n');
}
