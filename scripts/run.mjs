#!/usr/bin/env node
// The entry behind the README's commands (npm start, npm test, npm run stack, …).
// It needs nothing but Node: it finds or fetches pnpm, installs the workspace's
// dependencies when they are missing or stale, then runs the task.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = '10.34.8';

const HELP = `Usage: node scripts/run.mjs <task> [args]   (or: npm run <task> -- [args])

Tasks:
  start            stack up, then the lab: order service on http://127.0.0.1:3000 (fault injection on) + shipping + billing
  test-scenario    every failure scenario end to end, with one table of what the audit found
  loadtest <name>  a load test's Node twin (loadtests/<name>.ts; the k6 scripts are loadtests/<name>.js),
                   e.g. \`npm run loadtest -- pool-exhaustion [--help]\`
  chaos <script>   put a named fault in place for a while, always undone afterwards: Toxiproxy toxics
                   kafka-latency | kafka-down | kafka-slow-close | kafka-bandwidth | db-drop | db-latency | db-down,
                   process faults relay-kill | kafka-restart | postgres-restart,
                   clear, list, schedule <file.json> — e.g. \`npm run chaos -- kafka-latency --ms 3000 --for 30s\`
                   (<script> --help for its options; chaos/README.md)
  soak             ≥ 20,000 orders through the outbox while a chaos schedule plays (relay kill -9, Kafka and
                   PostgreSQL restarts, drops, latency), then an audit: lost, ghosts, double effects, per-order event
                   order (--short: CI size; --kafka-nodes 3: on the 3-node cluster, with leader kills)
  migrate          apply the schema and outbox migrations to DATABASE_URL (services also do it at start)
  order-service    the order service alone (FAULT_INJECTION off unless set)
  test [args]      stack up (by the tests' global set-up), then every test; args go to vitest
  stack <cmd>      the local stack: up | down | status | logs (see: npm run stack -- help)
  setup            install dependencies and fetch/start everything, without running anything else
  shipping         the shipping consumer: OrderCreated → order API callback → shipments (needs the stack and the order service)
  billing          the billing consumer: OrderCreated → order API callback → invoices (same needs; --help for details)
  audit [args]     compare a table with a topic: ghosts, black holes, duplicates, order (see: npm run audit -- --help)
  relay            the outbox relay: publishes outbox rows to Kafka, /metrics on RELAY_PORT (--help for details)
  dead-letters     list | replay <id> | discard <id> messages Kafka refused (--help for details)
  bench [args]     the benchmarks, every figure next to its reference measured in the same run (a ratio):
                   relay drain vs the raw producer, latency NOTIFY on/off, API throughput, scale-out, peers,
                   CPU profile → results/bench-<time>/ (report.md, results.json, SVG charts); --quick for CI,
                   --only <ids>, --publish (docs/performance/ + README); --help for the rest
  lint [args]      ESLint (typescript-eslint's recommended rules, eslint-plugin-dual-write) over the whole tree

  (npm run optional-clients -- install confluent | status | remove confluent | --help: optional Kafka clients
  for the relay, built into .stack/optional-clients/; never needed by start or test)
  turbo <task>     run a turbo task across the workspace (typecheck, build, lint, test)
  pnpm <args>      run pnpm with the project's pinned version

Each task installs what it needs first (pnpm, npm packages); the stack fetches the
Kafka jars (Maven) and builds Toxiproxy (go install) on first use.`;

function say(line) {
  process.stderr.write(`[dual-write] ${line}\n`);
}

function runOrExit(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) {
    say(`could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  // Killed by a signal (e.g. pnpm on Ctrl-C): exit as a shell would, 128 + the signal's number.
  if (r.status !== 0) process.exit(r.status ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : 1));
}

function major(version) {
  return Number(String(version).trim().split('.')[0]);
}

/** pnpm on PATH if it is version 10; otherwise `npx -y pnpm@<pinned>` (corepack's signature check fails on some registries). */
function findPnpm() {
  const local = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (!local.error && local.status === 0 && major(local.stdout) === 10) return ['pnpm'];
  return ['npx', '-y', `pnpm@${PNPM_VERSION}`];
}

function ensureNode() {
  const [maj, min] = process.versions.node.split('.').map(Number);
  if (maj < 20 || (maj === 20 && min < 10)) {
    say(`Node ${process.versions.node} is too old: this project needs Node 20.10 or newer (node --version).`);
    process.exit(1);
  }
}

function ensureInstalled(pnpm) {
  const stamp = path.join(ROOT, 'node_modules', '.dual-write-installed');
  const lock = path.join(ROOT, 'pnpm-lock.yaml');
  const fresh = existsSync(stamp) && existsSync(lock) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs
    && statSync(stamp).mtimeMs >= statSync(path.join(ROOT, 'package.json')).mtimeMs;
  if (fresh) return;
  say('installing dependencies with pnpm (first run, or the lockfile changed)…');
  const args = ['install', existsSync(lock) ? '--frozen-lockfile' : '--no-frozen-lockfile', '--reporter=append-only'];
  runOrExit(pnpm[0], [...pnpm.slice(1), ...args]);
  writeFileSync(stamp, new Date().toISOString());
}

/** The load tests: loadtests/<name>.ts files (the Node twins of the k6 scripts), config files aside. */
function loadtestNames() {
  const dir = path.join(ROOT, 'loadtests');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('.config.'))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

const [task, ...args] = process.argv.slice(2);
if (!task || task === 'help' || task === '--help' || task === '-h') {
  console.log(HELP);
  process.exit(task ? 0 : 2);
}
ensureNode();
const pnpm = findPnpm();
ensureInstalled(pnpm);
const pnpmRun = (...a) => runOrExit(pnpm[0], [...pnpm.slice(1), ...a]);
// TypeScript entries run on this Node with tsx's loader — no pnpm/tsx wrapper processes in between, so a
// Ctrl-C reaches the program itself and its cleanup (e.g. removing a toxic) is never cut short by a wrapper.
const tsx = (script, ...a) => runOrExit(process.execPath, ['--import', 'tsx', script, ...a]);
/**
 * A server that runs until it is stopped (npm start, the order service): this process stays in front of it and
 * hands SIGINT and SIGTERM on, so `kill <pid>` of npm start stops the lab instead of leaving it running on its
 * port, then exits with the server's code. The server closes once however many signals arrive (Ctrl-C reaches it
 * from the terminal and from here).
 */
function tsxServer(script, ...a) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...a], { stdio: 'inherit', cwd: ROOT });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('error', (err) => {
    say(`could not run ${script}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
}

/** --kafka-nodes N (soak, bench): KAFKA_NODES=N for everything started from here — the stack brought up, the run. */
function kafkaNodesFromArgs() {
  const k = args.indexOf('--kafka-nodes');
  const nodes = k >= 0 ? args[k + 1] : args.find((a) => a.startsWith('--kafka-nodes='))?.slice('--kafka-nodes='.length);
  if (nodes !== undefined) process.env.KAFKA_NODES = nodes;
}

switch (task) {
  case 'setup':
    tsx('packages/stack/src/cli.ts', 'up');
    break;
  case 'stack':
    tsx('packages/stack/src/cli.ts', ...args);
    break;
  case 'start':
    if (args.includes('--help') || args.includes('-h')) {
      tsx('services/lab/src/demo.ts', '--help');
      break;
    }
    tsx('packages/stack/src/cli.ts', 'up');
    tsxServer('services/lab/src/demo.ts', ...args);
    break;
  case 'test-scenario':
    if (!args.includes('--help') && !args.includes('-h')) tsx('packages/stack/src/cli.ts', 'up');
    tsx('services/lab/src/test-scenario.ts', ...args);
    break;
  case 'soak': {
    kafkaNodesFromArgs();
    if (!args.includes('--help') && !args.includes('-h')) tsx('packages/stack/src/cli.ts', 'up');
    // Ctrl-C reaches the soak too, which undoes its faults and restarts what it stopped: wait for it.
    process.on('SIGINT', () => {});
    tsx('services/lab/src/soak/cli.ts', ...args);
    break;
  }
  case 'loadtest': {
    const [name, ...rest] = args;
    const names = loadtestNames();
    if (!name || name === '--help' || name === '-h') {
      console.log(`Usage: npm run loadtest -- <name> [args]   (args go to the load test; <name> --help for its options)\nLoad tests: ${names.join(', ')}`);
      process.exit(name ? 0 : 2);
    }
    if (!names.includes(name)) {
      say(`unknown load test "${name}": the load tests are ${names.join(', ')} (files loadtests/<name>.ts)`);
      process.exit(2);
    }
    if (!rest.includes('--help') && !rest.includes('-h')) tsx('packages/stack/src/cli.ts', 'up');
    // Ctrl-C reaches the load test too, which removes its toxic before it exits: wait for it and pass its code on.
    process.on('SIGINT', () => {});
    tsx(`loadtests/${name}.ts`, ...rest);
    break;
  }
  case 'chaos': {
    const [name] = args;
    const passive = !name || ['help', 'list', 'clear'].includes(name) || args.includes('--help') || args.includes('-h') || args.includes('--dry-run');
    if (!passive) tsx('packages/stack/src/cli.ts', 'up');
    // Ctrl-C reaches the chaos script too, which removes what it added before it exits: wait for it and pass its code on.
    process.on('SIGINT', () => {});
    tsx('chaos/src/cli.ts', ...args);
    break;
  }
  case 'migrate':
    tsx('packages/schema/src/cli.ts', ...args);
    break;
  case 'order-service':
    tsxServer('services/order-service/src/main.ts', ...args);
    break;
  case 'shipping':
    tsx('services/shipping/src/main.ts', ...args);
    break;
  case 'billing':
    tsx('services/billing/src/main.ts', ...args);
    break;
  case 'test':
    pnpmRun('exec', 'vitest', 'run', ...args);
    break;
  case 'audit':
    tsx('packages/audit/src/cli.ts', ...args);
    break;
  case 'relay':
    tsx('services/relay/src/main.ts', ...args);
    break;
  case 'dead-letters':
    tsx('services/relay/src/dead-letters.ts', ...args);
    break;
  case 'bench':
    kafkaNodesFromArgs();
    if (!args.includes('--help') && !args.includes('-h')) tsx('packages/stack/src/cli.ts', 'up');
    // Ctrl-C reaches the benchmark too, which stops its relay processes and drops its scratch databases: wait for it.
    process.on('SIGINT', () => {});
    tsx('bench/src/cli.ts', ...args);
    break;
  case 'turbo':
    pnpmRun('exec', 'turbo', 'run', ...args);
    break;
  case 'lint':
    pnpmRun('exec', 'eslint', '.', ...args);
    break;
  case 'pnpm':
    pnpmRun(...args);
    break;
  default:
    say(`unknown task "${task}"`);
    console.log(HELP);
    process.exit(2);
}
