/**
 * The Node twins of orders-steady.js and orders-burst.js: one command line, one run, one summary; the two
 * differ only in their rate profile (PROFILES).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { DwError, isDwError, resolveConfig, WRITE_STRATEGIES, type LabConfig } from '@dual-write/config';
import { Cleanup, runCleanupOnSignals } from '@dual-write/faults';
import { runOrdersLoad, type OrdersLoadResult, type RateStage } from './orders-load.ts';
import { evaluateOrdersThresholds, formatOrdersSummary } from './orders-summary.ts';
import { writeReport } from './run.ts';
import { resolveTarget, type InProcessSystem } from './target.ts';
import type { ThresholdVerdict } from './thresholds.ts';

export interface Schedule {
  startRate: number;
  stages: RateStage[];
  describe: string;
}

export interface Profile {
  name: 'orders-steady' | 'orders-burst';
  what: string;
  /** Flags of the profile's rate (whole numbers) with their defaults and, for --short, their short values. */
  rates: Record<string, { help: string; normal: number; short: number }>;
  schedule(rates: Record<string, number>, short: boolean): Schedule;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  'orders-steady': {
    name: 'orders-steady',
    what: 'a constant arrival rate of POST /api/v1/orders (k6 constant-arrival-rate)',
    rates: {
      rate: { help: 'requests per second', normal: 50, short: 20 },
      'duration-s': { help: 'seconds', normal: 30, short: 2 },
    },
    schedule: (r) => ({ startRate: r.rate!, stages: [{ target: r.rate!, durationMs: r['duration-s']! * 1000 }], describe: `${r.rate}/s for ${r['duration-s']} s` }),
  },
  'orders-burst': {
    name: 'orders-burst',
    what: 'bursts of POST /api/v1/orders: base rate, ramp to the peak, hold, ramp down (k6 ramping-arrival-rate)',
    rates: {
      'base-rate': { help: 'requests per second between bursts', normal: 10, short: 5 },
      'peak-rate': { help: 'requests per second at a burst’s peak', normal: 200, short: 40 },
      bursts: { help: 'bursts', normal: 3, short: 1 },
    },
    schedule: (r, short) => ({ startRate: r['base-rate']!, stages: burstStages(r['base-rate']!, r['peak-rate']!, r.bursts!, short ? 0.25 : 1), describe: `${r.bursts} × ${r['base-rate']}→${r['peak-rate']}/s` }),
  },
};

/** One burst: 2 s ramp up, 3 s at the peak, 2 s ramp down, 5 s at the base rate (times `scale`). orders-burst.js has the same. */
export function burstStages(base: number, peak: number, bursts: number, scale = 1): RateStage[] {
  const one = [
    { target: peak, durationMs: 2000 * scale },
    { target: peak, durationMs: 3000 * scale },
    { target: base, durationMs: 2000 * scale },
    { target: base, durationMs: 5000 * scale },
  ];
  return Array.from({ length: bursts }, () => one).flat();
}

export interface OrdersArgs {
  help: boolean;
  baseUrl?: string;
  strategy: string;
  malformedShare: number;
  short: boolean;
  json: boolean;
  check: boolean;
  rates: Record<string, number>;
}

export function ordersHelp(p: Profile): string {
  const rates = Object.entries(p.rates).map(([f, r]) => `  --${`${f} N`.padEnd(20)}${r.help} (default ${r.normal}; --short ${r.short})`);
  return `Usage: npm run loadtest -- ${p.name} [options]

The Node twin of loadtests/${p.name}.js (k6): ${p.what}, with a share of
malformed requests (bad JSON, missing fields, wrong types, oversized body, SQL-looking strings) that must each
get a 4xx with a \`code\`, while the valid orders must succeed. Prints the summary and the k6 thresholds' verdicts.

Options:
  --base-url URL        the order service (default: start one in-process on a free port, stop it afterwards)
  --strategy NAME       write strategy: ${WRITE_STRATEGIES.join(' | ')} (default outbox)
${rates.join('\n')}
  --malformed-pct N     percentage of malformed requests, 0-100 (default 10)
  --short               the short profile (a few seconds)
  --json                print the JSON report instead of the table
  --check               exit 1 when a threshold is crossed
  -h, --help            this help

Thresholds (the same as the k6 script's): http_req_failed{kind:valid} rate<0.01, http_req_duration{kind:valid}
p(99)<1000, malformed_rejected rate==1. The JSON report goes to results/${p.name}-<time>.json.
Exit codes: 0 done, 1 failed (or a crossed threshold with --check), 2 bad arguments.`;
}

function invalid(flag: string, value: string, expected: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `${flag} ${JSON.stringify(value)} is not valid: expected ${expected}.`, 'See --help for the options.');
}

export function parseOrdersArgs(p: Profile, argv: string[]): OrdersArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        'base-url': { type: 'string' },
        strategy: { type: 'string' },
        'malformed-pct': { type: 'string' },
        short: { type: 'boolean' },
        json: { type: 'boolean' },
        check: { type: 'boolean' },
        ...Object.fromEntries(Object.keys(p.rates).map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (err) {
    throw new DwError('DW_CONFIG_INVALID', (err as Error).message, 'See --help for the options.');
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const short = v.short === true;
  const strategy = str('strategy') ?? 'outbox';
  if (!(WRITE_STRATEGIES as readonly string[]).includes(strategy)) throw invalid('--strategy', strategy, `one of ${WRITE_STRATEGIES.join(', ')}`);
  const whole = (flag: string, raw: string | undefined, fallback: number, min: number, max = Infinity) => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw invalid(flag, raw, `a whole number from ${min}${max < Infinity ? ` to ${max}` : ''}`);
    return Number(raw);
  };
  const rates = Object.fromEntries(Object.entries(p.rates).map(([f, r]) => [f, whole(`--${f}`, str(f), short ? r.short : r.normal, 1)]));
  let baseUrl = str('base-url');
  if (baseUrl !== undefined) {
    if (!/^https?:\/\/[^/]/.test(baseUrl)) throw invalid('--base-url', baseUrl, 'an http:// URL such as http://localhost:3000');
    baseUrl = baseUrl.replace(/\/+$/, '');
  }
  return {
    help: v.help === true,
    baseUrl,
    strategy,
    malformedShare: whole('--malformed-pct', str('malformed-pct'), 10, 0, 100) / 100,
    short,
    json: v.json === true,
    check: v.check === true,
    rates,
  };
}

export interface OrdersReport {
  tool: 'node';
  profile: Profile['name'];
  startedAt: string;
  baseUrl: string;
  strategy: string;
  malformedShare: number;
  schedule: Schedule;
  result: OrdersLoadResult;
  thresholds: ThresholdVerdict[];
  summary: string;
  file: string;
}

export async function runOrdersProfile(opts: { config: LabConfig; profile: Profile; args: OrdersArgs; system?: InProcessSystem; resultsDir?: string; cleanup?: Cleanup; progress?: (l: string) => void }): Promise<OrdersReport> {
  const { config, profile, args } = opts;
  const progress = opts.progress ?? (() => {});
  const cleanup = opts.cleanup ?? new Cleanup();
  const startedAt = new Date().toISOString();
  const schedule = profile.schedule(args.rates, args.short);
  let report: Omit<OrdersReport, 'file'>;
  try {
    const baseUrl = await resolveTarget({ config, baseUrl: args.baseUrl, system: opts.system, cleanup, progress });
    progress(`load started: ${schedule.describe}, strategy ${args.strategy}, ${Math.round(args.malformedShare * 100)}% malformed`);
    const result = await runOrdersLoad({ baseUrl, strategy: args.strategy, startRate: schedule.startRate, stages: schedule.stages, malformedShare: args.malformedShare, customerId: profile.name });
    progress(`load done in ${(result.durationMs / 1000).toFixed(1)} s`);
    const thresholds = evaluateOrdersThresholds(result);
    const summary = formatOrdersSummary(`${profile.name} · strategy ${args.strategy} · ${schedule.describe} · ${Math.round(args.malformedShare * 100)}% malformed · node`, result, thresholds);
    report = { tool: 'node', profile: profile.name, startedAt, baseUrl, strategy: args.strategy, malformedShare: args.malformedShare, schedule, result, thresholds, summary };
  } finally {
    const errors = await cleanup.runAll();
    for (const e of errors) progress(`cleanup failed: ${e.message}`);
  }
  return { ...report, file: writeReport(opts.resultsDir ?? path.join(config.repoRoot, 'results'), profile.name, report) };
}

export async function ordersMain(profile: Profile, argv: string[]): Promise<number> {
  const progress = (line: string) => process.stderr.write(`[loadtest] ${line}\n`);
  let args: OrdersArgs;
  try {
    args = parseOrdersArgs(profile, argv);
  } catch (err) {
    console.error(isDwError(err) ? err.format() : err);
    return 2;
  }
  if (args.help) {
    console.log(ordersHelp(profile));
    return 0;
  }
  const cleanup = new Cleanup();
  runCleanupOnSignals(cleanup, { say: progress, doing: 'stopping what this run started' });
  const report = await runOrdersProfile({ config: resolveConfig(), profile, args, cleanup, progress });
  const crossed = report.thresholds.filter((t) => !t.ok).length;
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`\n${report.summary}\n\nJSON report: ${path.relative(process.cwd(), report.file)}`);
  return args.check && crossed ? 1 : 0;
}

/** The twins' entry point: runs `profile` when `metaUrl` is the script node was started with. */
export function runIfMain(metaUrl: string, profile: Profile): void {
  if (!process.argv[1] || metaUrl !== pathToFileURL(path.resolve(process.argv[1])).href) return;
  ordersMain(profile, process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(isDwError(err) ? err.format() : err);
      process.exit(1);
    },
  );
}
