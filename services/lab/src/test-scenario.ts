/**
 * `npm run test-scenario`: runs every failure scenario end to end against the real stack, through the
 * brief's URLs (GET /api/v1/bad-scenario?kind=…), and prints one table of what the audit found.
 * It works in its own database and topic (recreated each run) so earlier traffic never blurs the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDwError, resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { acquireLabLock } from '@dual-write/faults';
import type { ScenarioReport } from '@dual-write/order-service/lab';
import { formatTable, toRow, type ScenarioRow } from './scenario-table.ts';
import { clearLeftoverFaults, recreateDatabaseAndTopic } from './scratch.ts';
import { startSystem } from './system.ts';

const HELP = `Usage: npm run test-scenario -- [--only db,mq,mq-crash,pool,early] [--strategy naive,outbox] [--repeat N] [--json]

Runs each dual-write failure for real — first against the naive code, then the same fault against the
outbox strategy — and prints one table:
  db        zombie message   (Kafka send acked, DB connection reset before COMMIT)
  mq        black hole      (COMMIT ok, then the kafka proxy is cut; nothing retries)
  mq-crash  black hole      (COMMIT ok, then the writing process is SIGKILLed)
  pool      pool exhaustion (5 s Kafka latency + a burst: login and product search fail)
  early     premature message (Kafka acked, the transaction does more work; the consumers look before
            COMMIT, get 404 and record a ghost for an order that then commits and is never shipped)
The stack must be up (npm run test-scenario starts it). It uses the database "dual_write_scenarios" and
the topic "orders.scenarios", recreated each run, and runs the order service, shipping, billing and the
relay in-process. Results are also written to results/test-scenario-<time>.json.
Exit code 0 when every naive row shows its damage and every outbox row shows none, 1 otherwise.`;

export const STRATEGIES = ['naive', 'outbox'] as const;

export const SCENARIOS: Record<string, string> = {
  db: 'kind=db',
  mq: 'kind=mq&cause=broker',
  'mq-crash': 'kind=mq&cause=crash',
  pool: 'kind=pool',
  early: 'kind=early',
};

export interface ScenarioRunOptions {
  config: LabConfig;
  only?: string[];
  strategies?: readonly string[];
  repeat?: number;
  database?: string;
  topic?: string;
  progress?: (line: string) => void;
}

export async function runScenarios(opts: ScenarioRunOptions): Promise<{ reports: ScenarioReport[]; rows: ScenarioRow[] }> {
  const { config } = opts;
  const progress = opts.progress ?? (() => {});
  const database = opts.database ?? 'dual_write_scenarios';
  const topic = opts.topic ?? 'orders.scenarios';
  const only = opts.only ?? Object.keys(SCENARIOS);
  const leftovers = await clearLeftoverFaults(config);
  if (leftovers.length) progress(`cleared faults left by an earlier run: ${leftovers.join(', ')}`);
  progress(`preparing database ${database} and topic ${topic}…`);
  await recreateDatabaseAndTopic(config, database, topic);
  const system = await startSystem({
    config,
    port: 0,
    databaseUrl: withDatabase(config.database.appUrl, database),
    directDatabaseUrl: withDatabase(config.database.url, database),
    topic,
    groupSuffix: `scenarios-${Date.now()}`,
    relayPort: false,
    log: () => {},
  });
  const reports: ScenarioReport[] = [];
  try {
    for (let round = 1; round <= (opts.repeat ?? 1); round++) {
      for (const strategy of opts.strategies ?? STRATEGIES) for (const name of only) {
        const query = `${SCENARIOS[name]}&strategy=${strategy}`;
        progress(`▶ ${name} · ${strategy}${opts.repeat && opts.repeat > 1 ? ` (round ${round})` : ''}: GET /api/v1/bad-scenario?${query} …`);
        const res = await fetch(`${system.url}/api/v1/bad-scenario?${query}`, { signal: AbortSignal.timeout(300_000) });
        const body = (await res.json()) as ScenarioReport & { code?: string; message?: string };
        if (!res.ok) throw new Error(`${name}: HTTP ${res.status} ${body.code ?? ''} ${body.message ?? ''}`);
        reports.push(body);
        progress(`  ${body.damage ? '✗' : '✓'} ${body.summary} (${(body.durationMs / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    await system.stop();
  }
  return { reports, rows: reports.map(toRow) };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const onlyIdx = argv.indexOf('--only');
  const only = onlyIdx >= 0 ? (argv[onlyIdx + 1] ?? '').split(',').filter(Boolean) : undefined;
  const unknown = (only ?? []).filter((o) => !(o in SCENARIOS));
  if (unknown.length || (onlyIdx >= 0 && !only?.length)) {
    console.error(`--only takes a comma-separated list of ${Object.keys(SCENARIOS).join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
    return 2;
  }
  const strategyIdx = argv.indexOf('--strategy');
  const strategies = strategyIdx >= 0 ? (argv[strategyIdx + 1] ?? '').split(',').filter(Boolean) : [...STRATEGIES];
  const badStrategy = strategies.filter((x) => !(STRATEGIES as readonly string[]).includes(x));
  if (badStrategy.length || strategies.length === 0) {
    console.error(`--strategy takes a comma-separated list of ${STRATEGIES.join(', ')}${badStrategy.length ? ` (unknown: ${badStrategy.join(', ')})` : ''}`);
    return 2;
  }
  const repeatIdx = argv.indexOf('--repeat');
  const repeat = repeatIdx >= 0 ? Number(argv[repeatIdx + 1]) : 1;
  if (!Number.isInteger(repeat) || repeat < 1) {
    console.error('--repeat takes a whole number ≥ 1');
    return 2;
  }
  const json = argv.includes('--json');
  const config = resolveConfig({ FAULT_INJECTION: true });
  // The proxies are shared: wait for any test or load run that is using them.
  const release = await acquireLabLock(config, () => process.stderr.write('waiting for the lab lock (a test or load run is using the proxies)…\n'));
  let result;
  try {
    result = await runScenarios({ config, only, strategies, repeat, progress: (l) => process.stderr.write(`${l}\n`) });
  } finally {
    await release();
  }
  const { reports, rows } = result;
  const dir = path.join(config.repoRoot, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `test-scenario-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ rows, reports }, null, 2));
  if (json) {
    console.log(JSON.stringify({ rows, reports }, null, 2));
  } else {
    console.log(`\n${formatTable(rows)}\n`);
    for (const r of rows) console.log(`${r.damage ? '✗' : '✓'} ${r.scenario} · ${r.strategy}: ${r.summary}`);
    console.log(`\nfull reports: ${path.relative(process.cwd(), file)}`);
  }
  const code = scenarioExitCode(rows);
  console.log(code === 0 ? 'every naive row shows its damage; every outbox row is consistent' : 'UNEXPECTED: a row did not behave as its strategy should (see above)');
  return code;
}

/** 0 when every naive row shows its damage and every outbox row none; 1 otherwise. */
export function scenarioExitCode(rows: readonly Pick<ScenarioRow, 'strategy' | 'damage'>[]): 0 | 1 {
  return rows.every((r) => (r.strategy.startsWith('naive') ? r.damage : !r.damage)) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(isDwError(err) ? err.format() : err);
      process.exit(1);
    },
  );
}
