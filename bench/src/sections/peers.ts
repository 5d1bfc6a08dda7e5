/**
 * Peers: other outbox implementations (bench/src/peers/) raced against our relay on the same box and the same
 * workloads — the drain section's backlog and a steady 500 orders/s. A fair race: Debezium runs twice, with its
 * defaults and tuned for latency (../peers/debezium-settings.ts), and every contender runs in each of several
 * interleaved repetitions (relay, relay in CDC mode, Debezium defaults, Debezium tuned, pg-transactional-outbox, relay, …); the
 * report compares medians, with the spread. Drain rates run from each contender's first message on the topic to
 * the last; latency uses the latency section's rig (writer and consumer child processes, a LogAppendTime topic:
 * commit → Kafka append time and commit → consumer) with each contender as the publisher. A peer that cannot
 * run says why (prepare() → { ok: false, reason }).
 */
import type { BenchSection, ChartSpec, Peer, Ratio, SectionContext, SectionResult } from '../types.ts';
import { fmtMs, fmtRate, fmtRatio, ratio } from '../lib/common.ts';
import { brokers } from '../lib/common.ts';
import { debeziumDefault, debeziumTuned, peerContender, relayCdcContender, relayContender, RELAY_BATCH, type Contender } from '../peers/contenders.ts';
import { debeziumPeer } from '../peers/debezium.ts';
import { DEBEZIUM_TUNED, describeSettings } from '../peers/debezium-settings.ts';
import { pgTransactionalOutboxPeer } from '../peers/pg-transactional-outbox.ts';
import type { RigLatency } from '../peers/common.ts';
import { runRace, summarize, type ContenderSummary, type Spread } from '../peers/race.ts';
import { cdcUnavailable } from './api-relay.ts';
import { drainWorkload } from './drain.ts';
import { latencyWorkload } from './latency.ts';

const LATENCY_RATE = 500;
/** pg-transactional-outbox sends one message per transaction (~440 msg/s here): 10 000 rows ≈ 25 s per repetition. */
const PGTO_MAX_DRAIN_ROWS = 10_000;
/** The issue's goals, reported (never asserted): relay drain ≥ 1.5 × Debezium tuned; relay p99 < Debezium tuned. */
const DRAIN_GOAL = 1.5;

export interface PeersData {
  repetitions: number;
  drainWorkload: ReturnType<typeof drainWorkload>;
  latencyWorkload: ReturnType<typeof latencyWorkload>;
  order: string[];
  contenders: ContenderSummary[];
  /** Peers whose prepare() failed: never raced. */
  unavailable: { name: string; reason: string }[];
}

async function prepare(peer: Peer, say: (l: string) => void): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    return await peer.prepare(say);
  } catch (err) {
    return { ok: false, reason: `prepare() threw: ${(err as Error).message}` };
  }
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const repetitions = ctx.quick ? 1 : 3;
  const drain = drainWorkload(ctx.quick);
  const latency = latencyWorkload(LATENCY_RATE, ctx.quick);
  const dbz = debeziumPeer();
  const pgto = pgTransactionalOutboxPeer();
  const unavailable: PeersData['unavailable'] = [];
  const contenders: Contender[] = [relayContender()];
  // Our relay in CDC mode (a pgoutput slot), beside the polling relay and Debezium, when this build has it.
  const cdcWhy = cdcUnavailable({ databaseUrl: 'postgres://localhost/peers', brokers, topic: 'peers' });
  if (cdcWhy) unavailable.push({ name: 'our relay, CDC mode', reason: cdcWhy });
  else contenders.push(relayCdcContender());
  let summaries: ContenderSummary[];
  try {
    // Both peers' processes (Connect worker, their own PostgreSQL servers) run during the whole race, so every
    // contender is measured in the same machine state.
    const dbzReady = await prepare(dbz, (l) => ctx.progress(`  [Debezium] ${l}`));
    if (dbzReady.ok) contenders.push(debeziumDefault(dbz), debeziumTuned(dbz));
    else unavailable.push({ name: dbz.name, reason: dbzReady.reason });
    const pgtoReady = await prepare(pgto, (l) => ctx.progress(`  [${pgto.name}] ${l}`));
    if (pgtoReady.ok) contenders.push(peerContender(pgto, 'pg-transactional-outbox', PGTO_MAX_DRAIN_ROWS));
    else unavailable.push({ name: pgto.name, reason: pgtoReady.reason });
    for (const u of unavailable) ctx.progress(`peers: ${u.name} cannot run here: ${u.reason}`);
    const runs = await runRace(contenders, { repetitions, drain, latency, progress: ctx.progress });
    summaries = contenders.map((c) => summarize(c, runs.get(c.id)!));
  } finally {
    await dbz.close().catch((err: unknown) => ctx.progress(`peers: closing Debezium: ${(err as Error).message}`));
    await pgto.close().catch((err: unknown) => ctx.progress(`peers: closing pg-transactional-outbox: ${(err as Error).message}`));
  }
  return summarizePeers({ repetitions, drainWorkload: drain, latencyWorkload: latency, order: contenders.map((c) => c.name), contenders: summaries, unavailable });
}

const cell = (s: Spread | undefined, fmt: (x: number) => string) => (s ? (s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median)) : 'did not run');

/** Table, ratios, charts and notes from the race (pure). */
export function summarizePeers(data: PeersData): SectionResult {
  const relay = data.contenders.find((c) => c.id === 'relay');
  const n = data.repetitions;
  const of = n > 1 ? `median of ${n}` : 'one run';
  const rows: (string | number)[][] = [];
  const ratios: Ratio[] = [];
  const notes: string[] = [];
  const div = (a: Spread | undefined, b: Spread | undefined) => (a && b ? ratio(a.median, b.median) : NaN);
  for (const c of data.contenders) {
    const self = c.id === 'relay';
    const drainRatio = div(relay?.drain, c.drain);
    const kafkaRatio = div(relay?.kafkaP99, c.kafkaP99);
    const consumerRatio = div(relay?.consumerP99, c.consumerP99);
    rows.push([
      c.name, c.settings, cell(c.drain, fmtRate), self ? '1.00' : fmtRatio(drainRatio),
      cell(c.kafkaP50, fmtMs), cell(c.kafkaP99, fmtMs), self ? '1.00' : fmtRatio(kafkaRatio),
      cell(c.consumerP50, fmtMs), cell(c.consumerP99, fmtMs), self ? '1.00' : fmtRatio(consumerRatio),
      c.latencyLost,
    ]);
    if (self) continue;
    if (relay?.drain && c.drain) {
      ratios.push({ name: `peers: our relay ÷ ${c.name}, drain (${of})`, measured: `${fmtRate(relay.drain.median)} msg/s`, reference: `${fmtRate(c.drain.median)} msg/s`, value: drainRatio });
    }
    if (relay?.kafkaP99 && c.kafkaP99) {
      ratios.push({ name: `peers: our relay ÷ ${c.name}, commit→Kafka p99 at ${LATENCY_RATE}/s (${of}; < 1 = relay faster)`, measured: `${fmtMs(relay.kafkaP99.median)} ms`, reference: `${fmtMs(c.kafkaP99.median)} ms`, value: kafkaRatio });
    }
    if (relay?.consumerP99 && c.consumerP99) {
      ratios.push({ name: `peers: our relay ÷ ${c.name}, commit→consumer p99 at ${LATENCY_RATE}/s (${of}; < 1 = relay faster)`, measured: `${fmtMs(relay.consumerP99.median)} ms`, reference: `${fmtMs(c.consumerP99.median)} ms`, value: consumerRatio });
    }
  }
  for (const u of data.unavailable) rows.push([u.name, '–', 'did not run', '–', '–', '–', '–', '–', '–', '–', '–']);

  const tuned = data.contenders.find((c) => c.id === 'debezium-tuned');
  const cdc = data.contenders.find((c) => c.id === 'relay-cdc');
  if (cdc && tuned) {
    // The CDC relay against the other log reader: relay (CDC) ÷ Debezium tuned (the relay (poll) ÷ relay (CDC) ratios are above).
    const parts: string[] = [];
    if (cdc.drain && tuned.drain) {
      const v = div(cdc.drain, tuned.drain);
      ratios.push({ name: `peers: our relay, CDC mode ÷ ${tuned.name}, drain (${of})`, measured: `${fmtRate(cdc.drain.median)} msg/s`, reference: `${fmtRate(tuned.drain.median)} msg/s`, value: v });
      parts.push(`drain ${fmtRate(cdc.drain.median)} vs ${fmtRate(tuned.drain.median)} msg/s = ${fmtRatio(v)}× (> 1 = CDC relay faster)`);
    }
    if (cdc.kafkaP99 && tuned.kafkaP99) {
      const v = div(cdc.kafkaP99, tuned.kafkaP99);
      ratios.push({ name: `peers: our relay, CDC mode ÷ ${tuned.name}, commit→Kafka p99 at ${LATENCY_RATE}/s (${of}; < 1 = CDC relay faster)`, measured: `${fmtMs(cdc.kafkaP99.median)} ms`, reference: `${fmtMs(tuned.kafkaP99.median)} ms`, value: v });
      parts.push(`commit → Kafka p99 ${fmtMs(cdc.kafkaP99.median)} vs ${fmtMs(tuned.kafkaP99.median)} ms = ${fmtRatio(v)}`);
    }
    if (cdc.consumerP99 && tuned.consumerP99) {
      const v = div(cdc.consumerP99, tuned.consumerP99);
      ratios.push({ name: `peers: our relay, CDC mode ÷ ${tuned.name}, commit→consumer p99 at ${LATENCY_RATE}/s (${of}; < 1 = CDC relay faster)`, measured: `${fmtMs(cdc.consumerP99.median)} ms`, reference: `${fmtMs(tuned.consumerP99.median)} ms`, value: v });
      parts.push(`commit → consumer p99 ${fmtMs(cdc.consumerP99.median)} vs ${fmtMs(tuned.consumerP99.median)} ms = ${fmtRatio(v)}`);
    }
    notes.push(`**Our relay in CDC mode ÷ Debezium tuned** (both stream the WAL through a pgoutput slot; ${of} each): ${parts.join('; ') || 'not measured — one of them produced no figure'}. Our relay (poll) ÷ our relay (CDC mode) is its row's "relay ÷ it" columns.`);
  }
  if (relay?.drain && tuned?.drain) {
    const r = relay.drain.median / tuned.drain.median;
    notes.push(`**Goal (reported, not asserted): our relay's median drain ≥ ${DRAIN_GOAL}× Debezium tuned's** — ${fmtRate(relay.drain.median)} vs ${fmtRate(tuned.drain.median)} msg/s = ${fmtRatio(r)}×: ${r >= DRAIN_GOAL ? 'met' : 'not met'}.`);
  } else notes.push('Goal (drain ≥ 1.5× Debezium tuned): not measured — Debezium tuned or the relay did not run.');
  if (relay?.kafkaP99 && tuned?.kafkaP99) {
    const e2e = relay.consumerP99 && tuned.consumerP99 ? ` (commit → consumer p99: ${fmtMs(relay.consumerP99.median)} vs ${fmtMs(tuned.consumerP99.median)} ms, ${relay.consumerP99.median < tuned.consumerP99.median ? 'below' : 'not below'})` : '';
    notes.push(`**Goal (reported, not asserted): our relay's latency p99 below Debezium tuned's** — commit → Kafka (append time) ${fmtMs(relay.kafkaP99.median)} vs ${fmtMs(tuned.kafkaP99.median)} ms (${of} each): ${relay.kafkaP99.median < tuned.kafkaP99.median ? 'met' : 'not met'}${e2e}.`);
  } else notes.push('Goal (latency p99 below Debezium tuned): not measured — Debezium tuned or the relay did not run.');

  const w = data.drainWorkload;
  const l = data.latencyWorkload;
  notes.push(
    `A race in ${n} interleaved repetition${n > 1 ? 's' : ''} (each: ${data.order.join(' → ')}; every contender's drain, then its latency run), so background load on the shared box lands on all of them; each figure is the median over the repetitions, with the spread (min–max) in brackets. The ratios divide medians.`,
    `Drain: the drain section's backlog (${w.rows.toLocaleString('en-US')} rows, ${w.keys} keys, ~${w.payloadBytes} B JSON, ${w.partitions} partitions; pg-transactional-outbox ${Math.min(w.rows, PGTO_MAX_DRAIN_ROWS).toLocaleString('en-US')} rows — it publishes one message per transaction, so a full backlog would take minutes per repetition; its rate is per message, so it compares). **Every contender's clock runs from its first message on the topic to the last** (the topic's high watermarks, polled every 50 ms; rate = the messages that arrived after the first sighting ÷ that time): start-up (our relay: startRelay(); a peer: registering the connector or starting the listener, up to its first message) is left out for all alike and reported apart in the notes (our relay's startRelay() → drained figure too).`,
    `Latency: the latency section's rig (bench/src/lib/latency-processes.ts) with each contender as the publisher: a writer child process commits one outbox row (the contender's own table) per transaction, ${l.ratePerSec}/s open loop (8 connections) for ${l.seconds} s, the first ${l.warmupSeconds} s left out; a consumer child that commits no offsets reads all ${l.partitions} partitions concurrently; both on one clock (CLOCK_MONOTONIC). The rig creates each run's topic with message.timestamp.type=LogAppendTime (the broker's auto-creation is off; Debezium's outbox event router writes to it through route.topic.replacement), so **commit → Kafka** = the broker's append time − COMMIT returned: the publisher's own latency, read without touching it; **commit → consumer** = when the message reached the consumer. Before the writer starts, our relay has logged "relay started" and each peer has published a probe row (its start-up is not measured). p50/p99 per run, then the median over the repetitions. "lost" = committed rows never seen in the latency runs (all repetitions). The latency section measures our relay the same way, so its figures compare with these.`,
    `Our relay, CDC mode (RELAY_MODE=cdc, batch ${RELAY_BATCH}, its other settings the defaults; a slot and publication of its own per scratch database, dropped after each run): it reads the outbox's inserts from a pgoutput replication slot instead of the table. Drain as Debezium's: the slot is created first (the relay started once and stopped), the backlog is written into the WAL behind it, then the relay (in this process) starts and streams it, clocked from its first message on the topic to the last and audited like the polling relay's. Latency: the relay as its own process, its slot created before the writer's first row.`,
    `Our relay: batch ${RELAY_BATCH}, LISTEN/NOTIFY on, poll interval 1000 ms (its defaults), on a scratch database of the shared stack's PostgreSQL — in the drain in this process (startRelay()), in the latency runs as its own process (services/relay/src/main.ts). Each peer has its own PostgreSQL (the stack's binaries and settings + wal_level=logical) and runs on the stack's Kafka; Debezium in its Connect worker (JVM), pg-transactional-outbox's listener and producer in this process.`,
    `Debezium (defaults): nothing overridden — poll.interval.ms 500, max.batch.size 2048, max.queue.size 8192, the Connect worker's producer (acks=all, 1 request in flight, linger.ms 5, batch.size 16384). Debezium (tuned): ${describeSettings(DEBEZIUM_TUNED)} — poll.interval.ms is what its latency waits on at a few hundred events/s; the sources of each setting are in bench/src/peers/debezium-settings.ts. Both run on one Connect worker (a fresh connector, slot and topic per run).`,
  );
  for (const c of data.contenders) {
    const fmtRuns = (f: (r: ContenderSummary['runs'][number]) => string) => c.runs.map(f).join(' / ');
    const lat = (f: (r: RigLatency) => number) => fmtRuns((r) => (r.latency.ran ? fmtMs(f(r.latency.result)) : 'failed'));
    notes.push(`${c.name}, each repetition: drain ${fmtRuns((r) => (r.drain.ran ? `${fmtRate(r.drain.result.msgsPerSec)}` : 'failed'))} msg/s; commit→Kafka p50 ${lat((x) => x.run.toKafka.p50Ms)} ms, p99 ${lat((x) => x.run.toKafka.p99Ms)} ms; commit→consumer p50 ${lat((x) => x.run.toConsumer.p50Ms)} ms, p99 ${lat((x) => x.run.toConsumer.p99Ms)} ms; writer achieved ${fmtRuns((r) => (r.latency.ran ? `${fmtRate(r.latency.result.run.achievedPerSec)}${r.latency.result.run.behind ? ' (behind)' : ''}` : 'failed'))}/s.`);
    for (const r of c.runs) {
      if (!r.drain.ran) notes.push(`**${c.name}** drain (repetition ${r.repetition}) did not run: ${r.drain.reason}`);
      if (!r.latency.ran) notes.push(`**${c.name}** latency (repetition ${r.repetition}) did not run: ${r.latency.reason}`);
    }
    // The contenders' own observations (start-up, read-back, the package's warnings, cores), from the first repetition.
    const first = c.runs[0];
    if (first) {
      for (const [what, o] of [['drain', first.drain], ['latency', first.latency]] as const) if (o.ran && o.notes) notes.push(...o.notes.map((x) => `${c.name} (repetition 1, ${what}): ${x}`));
    }
    if (c.id !== 'relay' && c.id !== 'relay-cdc' && c.latencyLost > 0) notes.push(`**${c.name} lost ${c.latencyLost} committed message(s)** in its latency runs (never on the topic) — a finding about the peer, not counted as the benchmark's own loss.`);
  }
  for (const u of data.unavailable) notes.push(`**${u.name}** did not run: ${u.reason}`);

  const raced = data.contenders.filter((c) => c.drain || c.kafkaP99);
  const order = raced.map((c) => c.name);
  const charts: SectionResult['charts'] = [];
  if (raced.some((c) => c.drain)) charts.push({ file: 'peers.svg', spec: spreadChart(`Peers race: drain msg/s, first message → last (${of}, bar = median, line = min–max)`, raced.flatMap((c) => (c.drain ? [{ who: c.name, ...c.drain }] : [])), order, 'messages/s', false) });
  if (raced.some((c) => c.kafkaP99)) charts.push({ file: 'peers-latency.svg', spec: spreadChart(`Peers race: COMMIT → Kafka (append time) p99 at ${LATENCY_RATE}/s (${of}, dot = median, line = min–max; log scale)`, raced.flatMap((c) => (c.kafkaP99 ? [{ who: c.name, ...c.kafkaP99 }] : [])), order, 'p99 ms', true) });
  if (raced.some((c) => c.consumerP99)) charts.push({ file: 'peers-latency-e2e.svg', spec: spreadChart(`Peers race: COMMIT → consumer p99 at ${LATENCY_RATE}/s (${of}, dot = median, line = min–max; log scale)`, raced.flatMap((c) => (c.consumerP99 ? [{ who: c.name, ...c.consumerP99 }] : [])), order, 'p99 ms', true) });

  return {
    id: 'peers',
    title: peersSection.title,
    table: {
      headers: [
        'who', 'settings', `drain msg/s: ${of} (min–max)`, 'relay ÷ it (drain, > 1 = relay faster)',
        `commit→Kafka p50 ms at ${LATENCY_RATE}/s`, `commit→Kafka p99 ms (min–max)`, 'relay ÷ it (→Kafka p99, < 1 = relay faster)',
        'commit→consumer p50 ms', 'commit→consumer p99 ms (min–max)', 'relay ÷ it (→consumer p99)', 'lost',
      ],
      rows,
    },
    ratios,
    charts,
    data,
    notes,
    // Ours: the relay's drain audit and latency runs. A peer's loss is a finding about the peer (in the notes).
    lost: (relay?.drainLost ?? 0) + (relay?.latencyLost ?? 0) + (cdc?.drainLost ?? 0) + (cdc?.latencyLost ?? 0),
  };
}

function spreadChart(title: string, values: ({ who: string } & Spread)[], order: string[], axis: string, log: boolean): ChartSpec {
  const x = { field: 'median', type: 'quantitative', title: axis, ...(log ? { scale: { type: 'log' } } : {}) };
  const y = { field: 'who', type: 'nominal', title: null, sort: order, axis: { labelLimit: 1000 } };
  return {
    title,
    width: 420,
    height: 40 * Math.max(1, values.length),
    data: { values: values.map((v) => ({ who: v.who, median: round3(v.median), min: round3(v.min), max: round3(v.max) })) },
    layer: [
      { mark: log ? { type: 'point', filled: true, size: 80 } : { type: 'bar' }, encoding: { x, y, color: { field: 'who', type: 'nominal', sort: order, legend: null } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'min', type: 'quantitative', ...(log ? { scale: { type: 'log' } } : {}) }, x2: { field: 'max' }, y } },
    ],
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export const peersSection: BenchSection = { id: 'peers', title: 'Peers: a race against other outbox implementations (interleaved repetitions, medians)', run };
