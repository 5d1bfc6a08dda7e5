/**
 * Latency at steady rates, writer, relay and consumer each in its own process (lib/latency-processes.ts):
 * COMMIT → Kafka (the broker's LogAppendTime: the relay's own latency) and COMMIT → consumer (a consumer that
 * commits no offsets and reads all partitions concurrently: the end-to-end latency), with the relay's NOTIFY
 * wake-up (LISTEN) on and off (off = it polls every pollIntervalMs only; RELAY_LISTEN=false). Every point runs
 * `repetitions` times (interleaved, so drift hits every point alike); the median is reported with the spread.
 * The reference for "on" is "off" measured in the same run: the ratio on ÷ off is what LISTEN/NOTIFY buys.
 */
import { config, fmtMs, fmtRate, ratio, round } from '../lib/common.ts';
import type { CpuUse } from '../lib/cpu-window.ts';
import { BEHIND_BELOW, OTHER, ProcessLatencyRig, type LatencyFigures, type LatencyRun } from '../lib/latency-processes.ts';
import { fmtRepeated, repeated, type Repeated } from '../lib/repeats.ts';
import type { BenchSection, LatencyWorkload, SectionContext, SectionResult } from '../types.ts';

export function latencyRates(quick: boolean): number[] {
  return quick ? [100, 1000] : [100, 500, 1000, 2000];
}

export function latencyWorkload(ratePerSec: number, quick: boolean): LatencyWorkload {
  return { ratePerSec, seconds: quick ? 4 : 20, warmupSeconds: quick ? 1 : 3, keys: 1000, payloadBytes: 500, partitions: 6 };
}

export const latencyRepetitions = (quick: boolean): number => (quick ? 1 : 3);

/** Reported, never asserted: NOTIFY on, at GOAL_RATE. */
export const GOALS = { ratePerSec: 1000, toKafkaP99Ms: 20, toConsumerP99Ms: 30 };

/** CPU columns, in this order. */
const CPU_PROCESSES = ['writer', 'relay', 'consumer', 'PostgreSQL', 'Kafka', OTHER];

interface Point {
  listen: boolean;
  ratePerSec: number;
  runs: LatencyRun[];
  achievedPerSec: Repeated;
  behindRuns: number;
  toKafka: Record<keyof LatencyFigures, Repeated>;
  toConsumer: Record<keyof LatencyFigures, Repeated>;
  txP99Ms: Repeated;
  /** Cores each process kept busy (median of the runs). */
  cpu: { process: string; cores: Repeated; cpuSeconds: Repeated }[];
  lost: number;
  duplicates: number;
}

function figuresOf(runs: LatencyRun[], pick: (r: LatencyRun) => LatencyFigures): Record<keyof LatencyFigures, Repeated> {
  const keys: (keyof LatencyFigures)[] = ['p50Ms', 'p95Ms', 'p99Ms', 'maxMs', 'negative'];
  return Object.fromEntries(keys.map((k) => [k, repeated(runs.map((r) => pick(r)[k]))])) as Record<keyof LatencyFigures, Repeated>;
}

function cpuOf(runs: LatencyRun[]): Point['cpu'] {
  const names = [...new Set(runs.flatMap((r) => r.cpu.map((c) => c.process)))];
  const get = (r: LatencyRun, name: string): CpuUse | undefined => r.cpu.find((c) => c.process === name);
  return names.map((process) => ({
    process,
    cores: repeated(runs.map((r) => get(r, process)?.cores ?? NaN)),
    cpuSeconds: repeated(runs.map((r) => get(r, process)?.cpuSeconds ?? NaN)),
  }));
}

function point(listen: boolean, ratePerSec: number, runs: LatencyRun[], duplicates: number): Point {
  return {
    listen, ratePerSec, runs,
    achievedPerSec: repeated(runs.map((r) => r.achievedPerSec)),
    behindRuns: runs.filter((r) => r.behind).length,
    toKafka: figuresOf(runs, (r) => r.toKafka),
    toConsumer: figuresOf(runs, (r) => r.toConsumer),
    txP99Ms: repeated(runs.map((r) => r.txP99Ms)),
    cpu: cpuOf(runs),
    lost: runs.reduce((n, r) => n + r.lost, 0),
    duplicates,
  };
}

const ms = (r: Repeated) => fmtRepeated(r, fmtMs);
const cores = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const wakeUp = (listen: boolean) => (listen ? 'NOTIFY on' : 'NOTIFY off (polling)');

function goalLine(what: string, p: Point | undefined, r: (p: Point) => Repeated, goalMs: number): string {
  if (!p) return `${what} ≤ ${goalMs} ms at ${GOALS.ratePerSec}/s (NOTIFY on): not measured in this run.`;
  const v = r(p);
  const met = v.median <= goalMs ? 'met' : '**not met**';
  return `${what} ≤ ${goalMs} ms at ${GOALS.ratePerSec}/s (NOTIFY on): ${ms(v)} ms — ${met}${p.behindRuns ? ' (the writer fell behind its rate)' : ''}.`;
}

function latencyChart(file: string, title: string, points: Point[], pick: (p: Point) => Point['toKafka'], goalMs: number) {
  // Log scale: a value at or below 0 (a message appended before COMMIT returned) is drawn at 0.1 ms.
  const v = (x: number) => round(Math.max(0.1, x), 2);
  const x = { field: 'rate', type: 'quantitative', title: 'orders / s (one outbox row per transaction)' };
  const color = { field: 'wakeUp', type: 'nominal', title: null };
  return {
    file,
    spec: {
      title,
      data: {
        values: points.flatMap((p) => (['p50Ms', 'p99Ms'] as const).map((k) => {
          const r = pick(p)[k];
          return { rate: p.ratePerSec, wakeUp: wakeUp(p.listen), percentile: k.slice(0, 3), ms: v(r.median), lo: v(r.min), hi: v(r.max) };
        })),
      },
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x, color,
            y: { field: 'ms', type: 'quantitative', title: 'ms (log scale; median of the runs, bar = spread)', scale: { type: 'log' } },
            strokeDash: { field: 'percentile', type: 'nominal', title: null, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
            detail: [{ field: 'wakeUp' }, { field: 'percentile' }],
          },
        },
        { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, color, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
        {
          data: { values: [{ goal: goalMs, label: `goal: p99 ≤ ${goalMs} ms at ${GOALS.ratePerSec}/s` }] },
          layer: [
            { mark: { type: 'rule', strokeDash: [2, 3], color: 'gray' }, encoding: { y: { field: 'goal', type: 'quantitative' } } },
            { mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray', fontSize: 10 }, encoding: { y: { field: 'goal', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
          ],
        },
      ],
    },
  };
}

function cpuChart(points: Point[]) {
  return {
    file: 'latency-cpu.svg',
    spec: {
      title: 'CPU during the latency runs (NOTIFY on): cores kept busy, median of the runs',
      data: {
        values: points.filter((p) => p.listen).flatMap((p) => p.cpu.filter((c) => CPU_PROCESSES.includes(c.process)).map((c) => ({ rate: String(p.ratePerSec), process: c.process, cores: round(c.cores.median, 3) }))),
      },
      mark: 'bar',
      encoding: {
        x: { field: 'rate', type: 'ordinal', title: 'orders / s', sort: null },
        xOffset: { field: 'process', sort: CPU_PROCESSES },
        y: { field: 'cores', type: 'quantitative', title: 'cores busy (CPU s ÷ wall s)' },
        color: { field: 'process', type: 'nominal', title: null, sort: CPU_PROCESSES },
      },
    },
  };
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const say = ctx.progress;
  const rates = latencyRates(ctx.quick);
  const repetitions = latencyRepetitions(ctx.quick);
  const batchSize = 500;
  const pollIntervalMs = config.relay.pollIntervalMs;
  const w0 = latencyWorkload(rates[0]!, ctx.quick);
  const rig = await ProcessLatencyRig.open(w0.partitions, say);
  const runs: LatencyRun[] = [];
  const ids: string[][] = [];
  let runDuplicates: number[];
  try {
    for (let rep = 1; rep <= repetitions; rep++) {
      for (const listen of [true, false]) {
        for (const rate of rates) {
          const w = latencyWorkload(rate, ctx.quick);
          say(`latency [${rep}/${repetitions}]: ${rate}/s for ${w.seconds} s, NOTIFY ${listen ? 'on' : 'off'}…`);
          const r = await rig.run(w, { listen, batchSize, pollIntervalMs }, say);
          runs.push(r.run);
          ids.push(r.ids);
          const c = r.run.cpu.filter((u) => CPU_PROCESSES.includes(u.process)).map((u) => `${u.process} ${cores(u.cores)}`).join(', ');
          say(`  commit→Kafka p50 ${fmtMs(r.run.toKafka.p50Ms)} / p99 ${fmtMs(r.run.toKafka.p99Ms)} ms; commit→consumer p50 ${fmtMs(r.run.toConsumer.p50Ms)} / p99 ${fmtMs(r.run.toConsumer.p99Ms)} ms; achieved ${fmtRate(r.run.achievedPerSec)}/s${r.run.behind ? ' (BEHIND)' : ''}; lost ${r.run.lost}; cores: ${c}`);
        }
      }
    }
    // Duplicates are counted once every run is over: a late one counts too.
    runDuplicates = ids.map((runIds) => rig.duplicates(runIds));
  } finally {
    await rig.close();
  }
  const points = [true, false].flatMap((listen) => rates.map((rate) => {
    const indexes = runs.map((r, i) => (r.listen === listen && r.ratePerSec === rate ? i : -1)).filter((i) => i >= 0);
    return point(listen, rate, indexes.map((i) => runs[i]!), indexes.reduce((n, i) => n + runDuplicates[i]!, 0));
  }));
  const lost = points.reduce((n, p) => n + p.lost, 0);
  const at = (listen: boolean, rate: number) => points.find((p) => p.listen === listen && p.ratePerSec === rate)!;
  const goalPoint = points.find((p) => p.listen && p.ratePerSec === GOALS.ratePerSec);
  const behind = points.filter((p) => p.behindRuns > 0);
  const goals = [
    goalLine('Goal: relay commit → Kafka p99', goalPoint, (p) => p.toKafka.p99Ms, GOALS.toKafkaP99Ms),
    goalLine('Goal: end-to-end commit → consumer p99', goalPoint, (p) => p.toConsumer.p99Ms, GOALS.toConsumerP99Ms),
  ];
  for (const g of goals) say(g.replace(/\*\*/g, ''));
  const cpuCell = (p: Point) => CPU_PROCESSES.map((name) => cores(p.cpu.find((c) => c.process === name)?.cores.median ?? NaN)).join(' / ');
  return {
    id: 'latency',
    title: latencySection.title,
    table: {
      headers: [
        'NOTIFY', 'target /s', 'achieved /s', 'writer behind', 'commit→Kafka p50 ms', 'commit→Kafka p99 ms', 'commit→consumer p50 ms', 'commit→consumer p99 ms',
        'consumer max ms', 'lost', 'dup', 'tx p99 ms', `cores: ${CPU_PROCESSES.join(' / ')}`,
      ],
      rows: points.map((p) => [
        p.listen ? 'on' : 'off', p.ratePerSec, fmtRate(p.achievedPerSec.median), p.behindRuns ? `${p.behindRuns} of ${p.runs.length}` : 'no',
        ms(p.toKafka.p50Ms), ms(p.toKafka.p99Ms), ms(p.toConsumer.p50Ms), ms(p.toConsumer.p99Ms), fmtMs(p.toConsumer.maxMs.max),
        p.lost, p.duplicates, fmtMs(p.txP99Ms.median), cpuCell(p),
      ]),
    },
    ratios: rates.flatMap((rate) => (['p50Ms', 'p99Ms'] as const).map((k) => ({
      name: `latency commit→Kafka ${k.slice(0, 3)} at ${rate}/s: NOTIFY on ÷ off`,
      measured: `${fmtMs(at(true, rate).toKafka[k].median)} ms`,
      reference: `${fmtMs(at(false, rate).toKafka[k].median)} ms`,
      value: ratio(at(true, rate).toKafka[k].median, at(false, rate).toKafka[k].median),
    }))),
    charts: [
      latencyChart('latency.svg', 'Commit → Kafka (broker append time) vs rate', points, (p) => p.toKafka, GOALS.toKafkaP99Ms),
      latencyChart('latency-e2e.svg', 'Commit → consumer receipt vs rate', points, (p) => p.toConsumer, GOALS.toConsumerP99Ms),
      cpuChart(points),
    ],
    data: { workload: w0, rates, repetitions, batchSize, pollIntervalMs, goals: { ...GOALS, lines: goals }, behindBelow: BEHIND_BELOW, points },
    notes: [
      ...goals,
      `Each point: ${repetitions > 1 ? `${repetitions} runs (interleaved: every point once, then again), the median shown with the spread (min–max) in brackets; each run` : 'one run (--quick)'}: ${w0.seconds} s of one-outbox-row transactions at the target rate (open loop, 8 writer connections), the first ${w0.warmupSeconds} s left out; ${w0.keys} keys, ~${w0.payloadBytes} B payload, ${w0.partitions} partitions, relay batch ${batchSize}, poll interval ${pollIntervalMs} ms. A fresh relay process per run.`,
      'Writer, relay and consumer are separate processes (the writer and the consumer are bench children, the relay is services/relay/src/main.ts on the direct endpoints); they share one clock, CLOCK_MONOTONIC. Commit time = right after COMMIT returned to the writer.',
      'Commit→Kafka = the broker\'s append time − commit time: the bench topic has message.timestamp.type=LogAppendTime, so each record carries when the broker appended it (just before it acknowledges; replication factor 1). It is the relay\'s commit → Kafka-ack latency, read without touching the relay. The append time is a whole millisecond (+0.5 ms centres it) on the wall clock, converted to the monotonic one (offset read at each run\'s start and end).',
      'Commit→consumer = when the fetch response holding the message reached the consumer process − commit time. The consumer commits no offsets (autoCommit off) and hands all partitions\' batches over concurrently, so its next fetch is not held up by commits or by one partition after another.',
      'A message may be appended, even received, before COMMIT returned to the writer: the row is visible to the relay as soon as PostgreSQL commits, while the writer hears back only when its process next runs (on a busy machine, milliseconds later). Such negative latencies are kept in the figures (results.json counts them per run: `negative`).',
      'NOTIFY off (RELAY_LISTEN=false): the relay polls every RELAY_POLL_INTERVAL_MS only, so latency ≈ half the poll interval on average, up to a whole one — as long as it catches up between polls. Only at a rate where every read finds rows (a relay that cannot keep up) would the loop never sleep, leaving NOTIFY nothing to wake (on ≈ off).',
      'Writer behind: the writer has 8 connections, so its rate is capped at 8 ÷ the mean transaction time; when PostgreSQL is busy (the relay\'s reads and deletes, NOTIFY, other work on the box) transactions take longer and the rate falls short. Its latency figures are still right for the rate achieved, but they are not the target rate\'s.',
      behind.length
        ? `Writer behind (achieved < ${BEHIND_BELOW * 100} % of the target): ${behind.map((p) => `${p.ratePerSec}/s NOTIFY ${p.listen ? 'on' : 'off'} (${p.behindRuns} of ${p.runs.length} runs, achieved ${fmtRate(p.achievedPerSec.median)}/s)`).join('; ')} — their figures hold for the rate achieved, not the target.`
        : `The writer kept its target rate in every run (achieved ≥ ${BEHIND_BELOW * 100} % of the target).`,
      `Cores = CPU seconds (utime + stime from /proc/<pid>/stat) ÷ the run's wall time, from the writer's start to the last message received, median of the runs; PostgreSQL counts the postmaster and every backend. "other" = the machine's busy time (/proc/stat) minus the processes listed: everything else on the box, this section's process included (it only collects the consumer's reports); a large "other" means the run shared the cores with unrelated work (1-minute load average at the end of the runs: ${fmtRepeated(repeated(runs.map((r) => r.loadAverage1m)), (x) => x.toFixed(1))}).`,
      'Lost = committed rows whose message never reached the consumer (30 s grace); dup = messages seen more than once (counted after the last run).',
    ],
    lost,
  };
}

export const latencySection: BenchSection = { id: 'latency', title: 'Latency: COMMIT → Kafka and → consumer (separate processes), NOTIFY on and off', run };
