/**
 * Latency: COMMIT → readable in Kafka at steady rates, with the relay's NOTIFY wake-up (LISTEN) on and off
 * (off = it polls every pollIntervalMs only; RELAY_LISTEN=false). The reference for "on" is "off" measured in
 * the same run: the ratio on ÷ off is what LISTEN/NOTIFY buys.
 */
import { config, fmtMs, fmtRate, ratio, round } from '../lib/common.ts';
import { LatencyRig, type LatencyPoint } from '../lib/latency.ts';
import type { BenchSection, LatencyWorkload, SectionContext, SectionResult } from '../types.ts';

export function latencyRates(quick: boolean): number[] {
  return quick ? [100, 500] : [100, 500, 1000, 2000];
}

export function latencyWorkload(ratePerSec: number, quick: boolean): LatencyWorkload {
  return { ratePerSec, seconds: quick ? 4 : 20, warmupSeconds: quick ? 1 : 3, keys: 1000, payloadBytes: 500, partitions: 6 };
}

interface Point extends LatencyPoint {
  listen: boolean;
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const say = ctx.progress;
  const rates = latencyRates(ctx.quick);
  const batchSize = 500;
  const pollIntervalMs = config.relay.pollIntervalMs;
  const rig = await LatencyRig.open('latency', 6, say);
  const points: Point[] = [];
  try {
    for (const listen of [true, false]) {
      for (const rate of rates) {
        const w = latencyWorkload(rate, ctx.quick);
        say(`latency: ${rate}/s for ${w.seconds} s, NOTIFY ${listen ? 'on' : 'off'}…`);
        const p = await rig.relayPoint(w, { listen, batchSize, pollIntervalMs }, say);
        points.push({ ...p, listen });
        say(`  p50 ${fmtMs(p.p50Ms)} ms, p99 ${fmtMs(p.p99Ms)} ms, max ${fmtMs(p.maxMs)} ms; achieved ${fmtRate(p.achievedPerSec)}/s; lost ${p.lost}, duplicates ${p.duplicates}`);
      }
    }
  } finally {
    await rig.close();
  }
  const w0 = latencyWorkload(rates[0]!, ctx.quick);
  const lost = points.reduce((n, p) => n + p.lost, 0);
  const on = (rate: number) => points.find((p) => p.listen && p.ratePerSec === rate)!;
  const off = (rate: number) => points.find((p) => !p.listen && p.ratePerSec === rate)!;
  return {
    id: 'latency',
    title: latencySection.title,
    table: {
      headers: ['NOTIFY', 'target /s', 'achieved /s', 'measured', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'tx p50 / p99 ms', 'relay batches'],
      rows: points.map((p) => [
        p.listen ? 'on' : 'off', p.ratePerSec, fmtRate(p.achievedPerSec), p.received, fmtMs(p.p50Ms), fmtMs(p.p95Ms), fmtMs(p.p99Ms), fmtMs(p.maxMs),
        p.lost, p.duplicates, `${fmtMs(p.txP50Ms)} / ${fmtMs(p.txP99Ms)}`, p.relayBatches,
      ]),
    },
    ratios: rates.flatMap((rate) => [
      { name: `latency p50 at ${rate}/s: NOTIFY on ÷ off`, measured: `${fmtMs(on(rate).p50Ms)} ms`, reference: `${fmtMs(off(rate).p50Ms)} ms`, value: ratio(on(rate).p50Ms, off(rate).p50Ms) },
      { name: `latency p99 at ${rate}/s: NOTIFY on ÷ off`, measured: `${fmtMs(on(rate).p99Ms)} ms`, reference: `${fmtMs(off(rate).p99Ms)} ms`, value: ratio(on(rate).p99Ms, off(rate).p99Ms) },
    ]),
    charts: [
      {
        file: 'latency.svg',
        spec: {
          title: 'Commit → Kafka latency vs rate',
          data: {
            values: points.flatMap((p) => [
              { rate: p.ratePerSec, wakeUp: p.listen ? 'NOTIFY on' : 'NOTIFY off (polling)', percentile: 'p50', ms: round(p.p50Ms, 1) },
              { rate: p.ratePerSec, wakeUp: p.listen ? 'NOTIFY on' : 'NOTIFY off (polling)', percentile: 'p99', ms: round(p.p99Ms, 1) },
            ]),
          },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'rate', type: 'quantitative', title: 'orders / s (one outbox row per transaction)' },
            y: { field: 'ms', type: 'quantitative', title: 'ms (log scale)', scale: { type: 'log' } },
            color: { field: 'wakeUp', type: 'nominal', title: null },
            strokeDash: { field: 'percentile', type: 'nominal', title: null, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
            detail: [{ field: 'wakeUp' }, { field: 'percentile' }],
          },
        },
      },
    ],
    data: { workload: w0, batchSize, pollIntervalMs, points },
    notes: [
      `Each point: ${w0.seconds} s of one-outbox-row transactions at the target rate (open loop, 8 writer connections), the first ${w0.warmupSeconds} s left out; ${w0.keys} keys, ~${w0.payloadBytes} B payload, ${w0.partitions} partitions, relay batch ${batchSize}, poll interval ${pollIntervalMs} ms.`,
      'Latency = the consumer received the fetch response − COMMIT returned to the writer; writer, relay and consumer run in this one process (one clock). A message may arrive before COMMIT returned to the writer (tiny negative latencies are kept).',
      'NOTIFY off (RELAY_LISTEN=false): the relay polls every RELAY_POLL_INTERVAL_MS only, so latency ≈ half the poll interval on average, up to a whole one — while it idles. Once every read finds rows (high rates: each batch takes as long as rows take to accumulate) the loop never sleeps, NOTIFY has nothing to wake, and on ≈ off.',
      'When the achieved rate is below the target, the writers (8 connections on the same cores) could not commit faster: the machine, not the relay, set the rate.',
      'Lost = committed rows whose message never arrived (30 s grace); dup = messages seen more than once.',
    ],
    lost,
  };
}

export const latencySection: BenchSection = { id: 'latency', title: 'Latency: COMMIT → readable in Kafka, NOTIFY on and off', run };
