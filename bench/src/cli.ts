/**
 * `npm run bench` / `pnpm bench`: every benchmark section in one run, each figure next to its reference measured
 * in the same run (a ratio), with progress on stderr, results/bench-<time>/{results.json,report.md,*.svg}, and
 * with --publish a copy in docs/performance/ plus the README's Performance block.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isDwError } from '@dual-write/config';
import { acquireLabLock } from '@dual-write/faults';
import { closeAllScratches, config } from './lib/common.ts';
import { killAllRelayChildren } from './lib/relay-process.ts';
import { gitInfo, machine, settings, versions } from './meta.ts';
import { publish, writeCharts, writeOutputs, type BenchRun, type SectionOutcome } from './report.ts';
import { apiThroughputSection } from './sections/api-throughput.ts';
import { drainSection } from './sections/drain.ts';
import { latencySection } from './sections/latency.ts';
import { peersSection } from './sections/peers.ts';
import { poolHealthSection } from './sections/pool-health.ts';
import { profileSection } from './sections/profile.ts';
import { scaleOutSection } from './sections/scale-out.ts';
import type { BenchSection } from './types.ts';

/** In report order. `profile` runs in full mode, with --profile, or when --only names it. */
const ORDER = ['drain', 'latency', 'api-throughput', 'pool-health', 'scale-out', 'peers', 'profile'] as const;

const HELP = `Usage: npm run bench -- [options]        (or: pnpm bench [options], in bench/: pnpm bench)

The relay against the physical limit (the raw kafkajs producer), NOTIFY on vs off, the order API's
throughput, pool health, 1–4 relay instances, the peers (Debezium, pg-transactional-outbox) and a CPU
profile of the relay — on this machine, every figure next to its reference measured in the same run.

Sections (in order): ${ORDER.join(', ')}

Options:
  --quick           small sizes (CI: proves the harness works, a few minutes at most); default: full sizes
  --only <ids>      comma-separated sections, e.g. --only drain,latency
  --profile         also run "profile" in --quick mode (it always runs in full mode)
  --kafka-nodes N   1 (default) or 3: on the 3-node cluster (npm run stack -- up --kafka-nodes 3; the same as
                    KAFKA_NODES=3 — e.g. npm run bench -- --kafka-nodes 3 --only scale-out)
  --out <dir>       where to write (default results/bench-<time>/)
  --publish         also copy report.md, results.json and the charts to docs/performance/ and update the
                    README's Performance block
  --no-lock         do not take the lab lock (default: wait for it, so no test's toxic lands in a run)
  -h, --help        this help

Output: progress on stderr; <out>/results.json, <out>/report.md, <out>/*.svg; the profile in <out>/profile/.
Needs the stack (npm run bench starts it). Uses scratch databases and topics, always removed.
Exit codes: 0 every section ran and nothing was lost · 1 a section failed or lost messages · 2 usage.`;

function usage(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}\n`);
  process.exit(2);
}

function parse() {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2).filter((a) => a !== '--'),
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        profile: { type: 'boolean', default: false },
        out: { type: 'string' },
        publish: { type: 'boolean', default: false },
        'no-lock': { type: 'boolean', default: false },
        'kafka-nodes': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

const args = parse();
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
// The configuration is read when the sections load (KAFKA_NODES from the environment): npm run bench sets it from
// --kafka-nodes; run directly, the flag must agree with it.
if (args['kafka-nodes'] !== undefined && args['kafka-nodes'] !== String(config.kafka.nodeCount)) {
  usage(`--kafka-nodes ${args['kafka-nodes']}: this process runs with KAFKA_NODES=${config.kafka.nodeCount}; use npm run bench -- --kafka-nodes ${args['kafka-nodes']} (it sets KAFKA_NODES), or set KAFKA_NODES=${args['kafka-nodes']}.`);
}

const only = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((id) => !(ORDER as readonly string[]).includes(id)) ?? [];
if (unknown.length) usage(`--only ${args.only}: unknown section${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${ORDER.join(', ')})`);
if (only && only.length === 0) usage('--only needs at least one section id');
const requested = ORDER.filter((id) => (only ? only.includes(id) : id !== 'profile' || !args.quick || args.profile));

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const progress = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);

const SECTIONS: Record<(typeof ORDER)[number], BenchSection> = {
  drain: drainSection,
  latency: latencySection,
  'api-throughput': apiThroughputSection,
  'pool-health': poolHealthSection,
  'scale-out': scaleOutSection,
  peers: peersSection,
  profile: profileSection,
};

const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
const outDir = path.resolve(args.out ?? path.join(config.repoRoot, 'results', `bench-${stamp}`));
mkdirSync(outDir, { recursive: true });

let release: (() => Promise<void>) | undefined;
let interrupted = 0;
const onSignal = () => {
  if (++interrupted > 1) process.exit(130);
  progress('interrupted: stopping relay processes, removing scratch databases and topics…');
  killAllRelayChildren();
  void closeAllScratches().finally(async () => {
    await dropLock();
    process.exit(130);
  });
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** Waits for the lab lock; PostgreSQL may be restarting (a chaos run restarts it now and then): retries for 90 s. */
async function takeLock(): Promise<void> {
  if (args['no-lock'] || release) return;
  for (let attempt = 0; ; attempt++) {
    try {
      release = await acquireLabLock(config, () => progress('waiting for the lab lock: a test, a load run or a chaos script is using the lab…'));
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      if (attempt === 0) progress(`PostgreSQL does not answer (${(err as Error).message.split('\n')[0]}); retrying for up to 90 s…`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

async function dropLock(): Promise<void> {
  const r = release;
  release = undefined;
  await r?.().catch(() => {});
}

const command = `npm run bench --${config.kafka.nodeCount === 3 ? ' --kafka-nodes 3' : ''}${args.quick ? ' --quick' : ''}${only ? ` --only ${only.join(',')}` : ''}${args.profile ? ' --profile' : ''}`.replace(/ --$/, '');
const startedAt = new Date().toISOString();
try {
  progress(`${args.quick ? 'quick' : 'full'} run: ${requested.join(', ')} → ${path.relative(process.cwd(), outDir) || outDir}`);
  await takeLock();
  const run: BenchRun = {
    startedAt,
    finishedAt: '',
    durationSeconds: 0,
    command,
    mode: args.quick ? 'quick' : 'full',
    sectionsRequested: [...requested],
    machine: machine(),
    versions: await versions(),
    git: gitInfo(),
    settings: settings(),
    sections: [],
    lost: 0,
  };
  const finish = () => {
    run.finishedAt = new Date().toISOString();
    run.durationSeconds = (performance.now() - t0) / 1000;
    run.machine.loadAverageAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
    run.lost = run.sections.reduce((n, s) => n + (s.status === 'ok' ? s.lost : 0), 0);
    return writeOutputs(run, outDir);
  };
  for (const id of requested) {
    const section = SECTIONS[id];
    progress(`── ${section.title}`);
    const s0 = performance.now();
    let outcome: SectionOutcome;
    try {
      const result = await section.run({ quick: args.quick, progress, outDir, holdsLabLock: release !== undefined });
      const charts = await writeCharts(result, outDir);
      outcome = { ...result, charts, status: 'ok', seconds: (performance.now() - s0) / 1000 };
      progress(`${id}: done in ${outcome.seconds.toFixed(0)} s, lost ${result.lost}${result.ratios.length ? `; ${result.ratios.map((r) => `${r.name} = ${Number.isFinite(r.value) ? r.value.toFixed(2) : '–'}`).join('; ')}` : ''}`);
    } catch (err) {
      const error = isDwError(err) ? err.format() : ((err as Error).stack ?? String(err));
      progress(`${id}: FAILED — ${error}`);
      killAllRelayChildren();
      await closeAllScratches();
      outcome = { status: 'failed', id, title: section.title, seconds: (performance.now() - s0) / 1000, error: (err as Error).message ?? String(err) };
    } finally {
      await takeLock();
    }
    run.sections.push(outcome);
    finish(); // results.json and report.md after every section: an interrupted run keeps what it measured
  }
  const files = finish();
  progress(`wrote ${path.relative(config.repoRoot, files.json)}, ${path.relative(config.repoRoot, files.report)} and ${run.sections.reduce((n, s) => n + (s.status === 'ok' ? s.charts.length : 0), 0)} charts`);
  if (args.publish) progress(`published: ${publish(run, outDir, config.repoRoot).join(', ')}`);
  const failed = run.sections.filter((s) => s.status === 'failed');
  if (failed.length || run.lost) {
    progress(`${failed.length ? `failed: ${failed.map((s) => s.id).join(', ')}` : ''}${run.lost ? ` lost: ${run.lost}` : ''}`.trim());
    process.exitCode = 1;
  }
  console.log(outDir);
} catch (err) {
  progress(isDwError(err) ? err.format() : ((err as Error).stack ?? String(err)));
  killAllRelayChildren();
  await closeAllScratches();
  process.exitCode = 1;
} finally {
  await dropLock();
}
// kafkajs/pg timers must not keep a finished run alive.
setTimeout(() => process.exit(), 2000).unref();
