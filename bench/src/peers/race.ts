/**
 * The race: every contender's drain and latency, interleaved — repetition 1: relay, relay (CDC mode), Debezium defaults, Debezium
 * tuned, pg-transactional-outbox; repetition 2: the same order; … — so a change in the shared box's background
 * load lands on all of them instead of on whoever ran at that moment. Then each contender's medians over the
 * repetitions, with the spread (min–max).
 */
import type { DrainResult, DrainWorkload, LatencyWorkload, Outcome, Progress } from '../types.ts';
import type { RigLatency } from './common.ts';
import type { Contender } from './contenders.ts';

export interface RaceRun {
  repetition: number;
  drainRows: number;
  drain: Outcome<DrainResult & { lost?: number }>;
  latency: Outcome<RigLatency>;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Repetitions that produced a figure. */
  n: number;
}

export interface ContenderSummary {
  id: string;
  name: string;
  version: string;
  settings: string;
  runs: RaceRun[];
  drain?: Spread;
  /** COMMIT returned → the broker appended the message (LogAppendTime): the publisher's own latency. */
  kafkaP50?: Spread;
  kafkaP99?: Spread;
  /** COMMIT returned → the message reached the consumer child. */
  consumerP50?: Spread;
  consumerP99?: Spread;
  /** Committed rows never seen, summed over the latency runs. */
  latencyLost: number;
  /** The drain's audit (relay only; a peer's drain fails when a row is missing). */
  drainLost: number;
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** Runs `repetitions` rounds of every contender (drain, then latency), in the given order each round. */
export async function runRace(contenders: readonly Contender[], o: { repetitions: number; drain: DrainWorkload; latency: LatencyWorkload; progress: Progress }): Promise<Map<string, RaceRun[]>> {
  const runs = new Map<string, RaceRun[]>(contenders.map((c) => [c.id, []]));
  for (let r = 1; r <= o.repetitions; r++) {
    for (const c of contenders) {
      const say = (l: string) => o.progress(`  [${c.name}] ${l}`);
      const w = { ...o.drain, rows: Math.min(o.drain.rows, c.maxDrainRows ?? Infinity) };
      o.progress(`peers: repetition ${r}/${o.repetitions}: ${c.name} — drain of ${w.rows.toLocaleString('en-US')} rows, then ${o.latency.ratePerSec}/s for ${o.latency.seconds} s`);
      const drain = await c.drain(w, say).catch((err: Error) => ({ ran: false as const, reason: `drain threw: ${err.message}` }));
      const latency = await c.latency(o.latency, say).catch((err: Error) => ({ ran: false as const, reason: `latency threw: ${err.message}` }));
      o.progress(`peers: repetition ${r}: ${c.name}: ${drain.ran ? `${Math.round(drain.result.msgsPerSec).toLocaleString('en-US')} msg/s` : `drain did not run (${drain.reason})`}; ${latency.ran ? `commit→Kafka p50 ${latency.result.run.toKafka.p50Ms.toFixed(1)} / p99 ${latency.result.run.toKafka.p99Ms.toFixed(1)} ms, commit→consumer p50 ${latency.result.run.toConsumer.p50Ms.toFixed(1)} / p99 ${latency.result.run.toConsumer.p99Ms.toFixed(1)} ms` : `latency did not run (${latency.reason})`}`);
      runs.get(c.id)!.push({ repetition: r, drainRows: w.rows, drain, latency });
    }
  }
  return runs;
}

export function summarize(c: Pick<Contender, 'id' | 'name' | 'version' | 'settings'>, runs: RaceRun[]): ContenderSummary {
  const drains = runs.flatMap((r) => (r.drain.ran ? [r.drain.result] : []));
  const lats = runs.flatMap((r) => (r.latency.ran ? [r.latency.result] : []));
  return {
    id: c.id,
    name: c.name,
    version: c.version,
    settings: c.settings,
    runs,
    drain: spread(drains.map((d) => d.msgsPerSec)),
    kafkaP50: spread(lats.map((l) => l.run.toKafka.p50Ms)),
    kafkaP99: spread(lats.map((l) => l.run.toKafka.p99Ms)),
    consumerP50: spread(lats.map((l) => l.run.toConsumer.p50Ms)),
    consumerP99: spread(lats.map((l) => l.run.toConsumer.p99Ms)),
    latencyLost: lats.reduce((n, l) => n + l.lost, 0),
    drainLost: drains.reduce((n, d) => n + (d.lost ?? 0), 0),
  };
}
