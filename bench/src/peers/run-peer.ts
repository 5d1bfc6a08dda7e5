/**
 * Runs one benchmark peer alone: prepare, drain, latency, close (always), printing the figures.
 *   node --import tsx bench/src/peers/run-peer.ts --peer debezium --rows 20000 --rate 200 --seconds 20
 */
import { parseArgs } from 'node:util';
import type { LatencyFigures } from '../lib/latency-processes.ts';
import type { DrainWorkload, LatencyWorkload, Peer } from '../types.ts';
import type { RigLatency } from './common.ts';
import { debeziumPeer } from './debezium.ts';
import { DEBEZIUM_TUNED } from './debezium-settings.ts';
import { pgTransactionalOutboxPeer } from './pg-transactional-outbox.ts';

const HELP = `Usage: node --import tsx bench/src/peers/run-peer.ts --peer <name> [options]

Runs one outbox peer alone on the stack's Kafka (needs \`npm run stack -- up\`): prepare (fetch/start what it
needs, incl. its own PostgreSQL with wal_level=logical), a drain of a backlog, a latency run at a steady rate (the latency section's rig),
then close (always: processes stopped, slots and topics removed).

Peers:
  debezium                 Debezium ${'3.6.1.Final'} PostgreSQL connector + outbox EventRouter on Kafka Connect (standalone)
  pg-transactional-outbox  the npm package pg-transactional-outbox 0.5.7 (logical replication listener) → kafkajs

Options:
  --peer NAME          debezium | pg-transactional-outbox (required)
  --rows N             drain: backlog rows (default 20000; 0 skips the drain)
  --rate N             latency: transactions (one outbox row each) per second (default 200; 0 skips the latency run)
  --seconds N          latency: how long the writer runs (default 20)
  --warmup N           latency: first seconds of commits left out (default 3)
  --keys N             distinct aggregate ids / Kafka keys (default 1000)
  --payload-bytes N    JSON payload size (default 500)
  --partitions N       partitions of the peer's topic (default 6)
  --listener KIND      pg-transactional-outbox only: replication (default) | polling
  --connector K=V      debezium only, repeatable: override a connector setting, e.g. --connector poll.interval.ms=50
  --tuned              debezium only: the peers race's latency-tuned settings (debezium-settings.ts; --connector wins)
  --json               print the results as JSON (on stdout) instead of text
  -h, --help           this help

Progress goes to stderr. Exit code 1 when the peer could not run, lost a message or a run failed.`;

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} ${String(value)}: expected a whole number ≥ ${min} (see --help)`);
    process.exit(2);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      peer: { type: 'string' },
      rows: { type: 'string', default: '20000' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      keys: { type: 'string', default: '1000' },
      'payload-bytes': { type: 'string', default: '500' },
      partitions: { type: 'string', default: '6' },
      listener: { type: 'string', default: 'replication' },
      connector: { type: 'string', multiple: true, default: [] },
      tuned: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const rows = int('rows', values.rows, 0);
const rate = int('rate', values.rate, 0);
const seconds = int('seconds', values.seconds, 1);
const warmup = int('warmup', values.warmup, 0);
const keys = int('keys', values.keys, 1);
const payloadBytes = int('payload-bytes', values['payload-bytes'], 0);
const partitions = int('partitions', values.partitions, 1);
if (rate > 0 && warmup >= seconds) {
  console.error(`--warmup ${warmup} must be shorter than --seconds ${seconds}`);
  process.exit(2);
}
if (values.listener !== 'replication' && values.listener !== 'polling') {
  console.error(`--listener ${values.listener}: expected replication or polling`);
  process.exit(2);
}

const connector: Record<string, string> = values.tuned ? { ...DEBEZIUM_TUNED } : {};
for (const kv of values.connector ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) {
    console.error(`--connector ${kv}: expected key=value`);
    process.exit(2);
  }
  connector[kv.slice(0, i)] = kv.slice(i + 1);
}

let peer: Peer & { closeReport?: { slots: string[]; publications: string[] } };
switch (values.peer) {
  case 'debezium':
    peer = debeziumPeer({ connector });
    break;
  case 'pg-transactional-outbox':
    peer = pgTransactionalOutboxPeer({ listener: values.listener });
    break;
  default:
    console.error(`--peer ${String(values.peer)}: expected debezium or pg-transactional-outbox\n\n${HELP}`);
    process.exit(2);
}

const progress = (line: string) => process.stderr.write(`[peer] ${line}\n`);
let closing: Promise<void> | undefined;
const close = () => (closing ??= peer.close());
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++signals > 1) process.exit(130);
    progress('interrupted: stopping the peer (processes, slots, topics)…');
    void close().finally(() => process.exit(130));
  });
}

const report: Record<string, unknown> = { peer: peer.name, version: peer.version };
let failed = false;
try {
  progress(`${peer.name} — ${peer.version}: preparing…`);
  const ready = await peer.prepare(progress);
  report.prepare = ready;
  if (Object.keys(connector).length) report.connectorOverrides = connector;
  if (!ready.ok) {
    failed = true;
  } else {
    if (rows > 0) {
      const w: DrainWorkload = { rows, keys, payloadBytes, partitions };
      const drain = await peer.drain(w, progress);
      report.drain = { workload: w, ...drain };
      if (!drain.ran) failed = true;
    }
    if (rate > 0) {
      const w: LatencyWorkload = { ratePerSec: rate, seconds, warmupSeconds: warmup, keys, payloadBytes, partitions };
      const latency = await peer.latency(w, progress);
      report.latency = { workload: w, ...latency };
      if (!latency.ran || latency.result.lost > 0) failed = true;
    }
  }
} finally {
  await close();
  report.closeReport = peer.closeReport;
}

if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`\n${peer.name} — ${peer.version}`);
  const ready = report.prepare as { ok: boolean; reason?: string };
  if (!ready.ok) console.log(`  could not run: ${ready.reason}`);
  const drain = report.drain as (DrainWorkload & { ran: boolean }) | undefined;
  if (drain) {
    const d = report.drain as { workload: DrainWorkload; ran: boolean; result?: { messages: number; seconds: number; msgsPerSec: number }; reason?: string; notes?: string[] };
    console.log(`  drain ${d.workload.rows} rows (${d.workload.keys} keys, ~${d.workload.payloadBytes} B, ${d.workload.partitions} partitions):`);
    if (d.ran && d.result) {
      console.log(`    ${Math.round(d.result.msgsPerSec)} msg/s (${d.result.messages} messages, ${d.result.seconds.toFixed(2)} s)`);
      for (const n of d.notes ?? []) console.log(`    · ${n}`);
    } else console.log(`    did not run: ${d.reason}`);
  }
  if (report.latency) {
    const l = report.latency as { workload: LatencyWorkload; ran: boolean; result?: RigLatency; reason?: string; notes?: string[] };
    console.log(`  latency at ${l.workload.ratePerSec}/s for ${l.workload.seconds} s (${l.workload.warmupSeconds} s warm-up; writer and consumer child processes, LogAppendTime topic):`);
    if (l.ran && l.result) {
      const r = l.result;
      const f = (x: LatencyFigures) => `p50 ${x.p50Ms.toFixed(1)} ms · p95 ${x.p95Ms.toFixed(1)} ms · p99 ${x.p99Ms.toFixed(1)} ms · max ${x.maxMs.toFixed(1)} ms`;
      console.log(`    commit → Kafka (append time): ${f(r.run.toKafka)}`);
      console.log(`    commit → consumer:            ${f(r.run.toConsumer)}`);
      console.log(`    sent ${r.sent} · received ${r.received} · lost ${r.lost} · duplicates ${r.duplicates}`);
      for (const n of l.notes ?? []) console.log(`    · ${n}`);
    } else console.log(`    did not run: ${l.reason}`);
  }
  if (peer.closeReport) {
    const { slots, publications } = peer.closeReport;
    console.log(`  closed: processes stopped; replication slots left ${slots.length ? slots.join(', ') : 'none'}, publications left ${publications.length ? publications.join(', ') : 'none'}`);
  }
}
process.exitCode = failed ? 1 : 0;
