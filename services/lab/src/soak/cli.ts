/**
 * `npm run soak`: thousands of orders at a steady rate while a chaos schedule plays, then an audit of what
 * was lost, invented or applied twice. See --help.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatTimeline, readSchedule } from '@dual-write/chaos';
import { DwError, findRepoRoot, isDwError, resolveConfig } from '@dual-write/config';
import { acquireLabLock, Cleanup, runCleanupOnSignals } from '@dual-write/faults';
import { runSoak, SOAK_STRATEGIES, type SoakResult, type SoakStrategy } from './run-soak.ts';
import { formatSoakTable } from './soak-report.ts';

const HELP = `Usage: npm run soak -- [--short] [--kafka-nodes 1|3] [--orders N] [--rate R] [--events-per-order 1|2|3]
                       [--strategy outbox|naive|naive-after-commit|…] [--schedule FILE] [--json] [--no-lock]

Sends orders to the order service at a steady rate while a chaos schedule plays — toxics on the proxies,
kill -9 of the relay, Kafka broker and PostgreSQL restarts — until at least N orders were accepted and the
schedule is over. Then it waits until the outbox is empty and shipping and billing caught up, and reports:
orders lost (black holes), ghosts, duplicates delivered, orders shipped or invoiced twice, the faults
injected by type, the largest outbox backlog and how long the drain took.

Each order is a stream of events on its key: OrderCreated, then OrderPaid, then OrderShipped, each written by
its own request and transaction (locking the order). The auditor checks each order's sequence on the topic
(a redelivery is told apart from a reordering), and the consumers record every step they apply and whether it
came in sequence.

The order service, shipping and billing run in this process; the relay runs as a process of its own (so
kill -9 is real). Its database and topic are recreated each run.

Options:
  --short              the CI size: 1,000 orders at 50/s (3,000 events), chaos/schedules/soak-short.json
                       (2 faults); with --kafka-nodes 3 chaos/schedules/soak-cluster-short.json
  --kafka-nodes N      1 (default) or 3: the soak on the 3-node cluster (npm run stack -- up --kafka-nodes 3;
                       the same as KAFKA_NODES=3), with chaos/schedules/soak-cluster.json by default: a slow
                       broker, a broker cut off, partition leaders killed with kill -9, relay kills
  --events-per-order N 1–3 events per order (default 3: created, paid, shipped); the naive strategies write
                       OrderCreated only (the later steps always go through the outbox)
  --orders N           orders that must be accepted (default 20000; --short 1000)
  --rate R             orders per second, steady, open loop (default 60; --short 50); each order is up to
                       3 requests (create, pay, ship), so 60/s is 180 requests/s
  --strategy S         outbox (default), naive (send inside the transaction: ghosts), naive-after-commit
                       (send after COMMIT: black holes), or a list run one after the other, e.g. naive,outbox
  --schedule FILE      the chaos schedule (default chaos/schedules/soak.json; format: npm run chaos -- schedule --help)
  --database NAME      the soak's database, dropped and created each run (default dual_write_soak)
  --topic NAME         the soak's topic, deleted and created each run (default orders.soak)
  --json               print the results as JSON instead of the table
  --no-lock            do not take the lab lock (only when the caller holds it)
  -h, --help           this help

Results go to results/soak-<time>.json as well. The stack must be up (npm run soak starts it). Takes the
lab lock: tests, load runs and chaos scripts wait, as it restarts Kafka and PostgreSQL.
Exit code: 0 when every outbox run lost nothing and applied nothing twice (naive damage is expected),
1 otherwise, 2 on bad arguments.`;

export interface SoakArgs {
  help: boolean;
  kafkaNodes: 1 | 3;
  eventsPerOrder: number;
  orders: number;
  rate: number;
  strategies: SoakStrategy[];
  schedule: string;
  json: boolean;
  lock: boolean;
  database: string;
  topic: string;
}

function bad(message: string): DwError {
  return new DwError('DW_CONFIG_INVALID', message, 'See npm run soak -- --help.');
}

export function parseSoakArgs(argv: string[], repoRoot: string): SoakArgs {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        short: { type: 'boolean' },
        'kafka-nodes': { type: 'string' },
        'events-per-order': { type: 'string' },
        orders: { type: 'string' },
        rate: { type: 'string' },
        strategy: { type: 'string' },
        schedule: { type: 'string' },
        json: { type: 'boolean' },
        'no-lock': { type: 'boolean' },
        database: { type: 'string' },
        topic: { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw bad((err as Error).message);
  }
  const whole = (flag: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw bad(`--${flag} ${JSON.stringify(raw)}: expected a whole number ≥ ${min}.`);
    return Number(raw);
  };
  const name = (flag: string, value: string, re: RegExp, what: string) => {
    if (!re.test(value)) throw bad(`--${flag} ${JSON.stringify(value)}: expected ${what}.`);
    return value;
  };
  const short = v.short === true;
  const kafkaNodes = v['kafka-nodes'] ?? process.env.KAFKA_NODES ?? '1';
  if (kafkaNodes !== '1' && kafkaNodes !== '3') throw bad(`--kafka-nodes ${JSON.stringify(kafkaNodes)}: expected 1 or 3 (KAFKA_NODES).`);
  const cluster = kafkaNodes === '3';
  const eventsPerOrder = whole('events-per-order', v['events-per-order'], 3, 1);
  if (eventsPerOrder > 3) throw bad(`--events-per-order ${eventsPerOrder}: expected 1, 2 or 3 (created, paid, shipped).`);
  const defaultSchedule = cluster ? (short ? 'soak-cluster-short.json' : 'soak-cluster.json') : short ? 'soak-short.json' : 'soak.json';
  const strategies = (v.strategy ?? 'outbox').split(',').filter(Boolean);
  const unknown = strategies.filter((s) => !(SOAK_STRATEGIES as readonly string[]).includes(s));
  if (strategies.length === 0 || unknown.length) throw bad(`--strategy ${JSON.stringify(v.strategy)}: expected one or more of ${SOAK_STRATEGIES.join(', ')}, comma separated (e.g. naive,outbox).`);
  return {
    help: v.help === true,
    kafkaNodes: cluster ? 3 : 1,
    eventsPerOrder,
    orders: whole('orders', v.orders, short ? 1000 : 20_000, 1),
    rate: whole('rate', v.rate, short ? 50 : 60, 1),
    strategies: strategies as SoakStrategy[],
    schedule: path.resolve(v.schedule ?? path.join(repoRoot, 'chaos/schedules', defaultSchedule)),
    json: v.json === true,
    lock: v['no-lock'] !== true,
    database: name('database', v.database ?? 'dual_write_soak', /^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _'),
    topic: name('topic', v.topic ?? 'orders.soak', /^[A-Za-z0-9._-]{1,249}$/, 'letters, digits, . _ -'),
  };
}

async function main(argv: string[]): Promise<number> {
  const args = parseSoakArgs(argv, findRepoRoot());
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  // --kafka-nodes 3 is KAFKA_NODES=3 for everything this run starts too (the relay processes, chaos restarts).
  process.env.KAFKA_NODES = String(args.kafkaNodes);
  const config = resolveConfig();
  const schedule = readSchedule(args.schedule);
  const say = (l: string) => process.stderr.write(`[soak] ${l}\n`);
  say(`${args.strategies.join(' then ')}: ≥ ${args.orders} orders at ${args.rate}/s, ${args.eventsPerOrder} event(s) each, Kafka ${args.kafkaNodes === 3 ? 'cluster of 3 nodes' : 'single broker'}; schedule ${path.relative(process.cwd(), args.schedule)}:\n${formatTimeline(schedule)}`);
  const cleanup = new Cleanup();
  runCleanupOnSignals(cleanup, { say, doing: 'undoing the faults, restarting what is stopped, stopping the soak', graceMs: 120_000 });
  const results: SoakResult[] = [];
  await cleanup.around(async () => {
    if (args.lock) {
      const release = await acquireLabLock(config, () => say('waiting for the lab lock (a test, load run or chaos script is using the stack)…'));
      cleanup.defer('release the lab lock', release);
    }
    for (const strategy of args.strategies) {
      const run = new Cleanup(); // each strategy's system is stopped before the next starts
      const stopRun = cleanup.defer(`stop the ${strategy} run`, async () => void (await run.runAll()));
      say(`▶ ${strategy}`);
      results.push(
        await run.around(
          () => runSoak({ config, strategy, orders: args.orders, ratePerSec: args.rate, eventsPerOrder: args.eventsPerOrder, schedule, scheduleFile: path.relative(config.repoRoot, args.schedule), say, cleanup: run, database: args.database, topic: args.topic }),
          { say, hint: 'Run `npm run chaos -- clear` (it restarts what a dead schedule stopped) and `npm run stack -- up`.' },
        ),
      );
      await stopRun();
    }
  }, { say, hint: 'Run `npm run chaos -- clear` and `npm run stack -- up`.' });

  const dir = path.join(config.repoRoot, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ results }, null, 2));
  if (args.json) console.log(JSON.stringify({ results }, null, 2));
  else {
    console.log(`\n${formatSoakTable(results)}\n`);
    for (const r of results) console.log(`${r.damage.length ? '✗' : '✓'} ${r.strategy}: ${r.damage.length ? r.damage.join('; ') : 'nothing lost, nothing invented, nothing applied twice'}`);
    console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  }
  return soakExitCode(results);
}

/** 1 when an outbox run lost, invented or applied twice anything (its `damage`); naive damage is the expected contrast. */
export function soakExitCode(results: readonly Pick<SoakResult, 'strategy' | 'damage'>[]): 0 | 1 {
  return results.every((r) => r.strategy !== 'outbox' || r.damage.length === 0) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(isDwError(err) ? err.format() : err);
      process.exit(isDwError(err) && err.code === 'DW_CONFIG_INVALID' ? 2 : 1);
    },
  );
}
