/**
 * Drain: how fast does the relay empty a backlog, next to what kafkajs itself can produce (the physical limit)?
 *
 * For each relay batch size (100 / 500 / 2000): write the backlog into a scratch database (no relay running),
 * then
 *   raw   → an idempotent kafkajs producer (acks -1, 1 in flight, like the relay) sends the SAME messages
 *           (read back from the backlog, built by the relay's toKafkaMessage) from memory, sendBatch by
 *           `batch` messages, to its own topic with the same partitions;
 *   relay → startRelay({ batchSize }) on the backlog, timed until waitUntilDrained();
 *   raw   → the raw producer again, so drift between the measurements shows.
 * ratio = relay ÷ the mean of the two raw runs around it. The auditor then compares the relay's topic with
 * the rows written (black holes = lost, duplicates), and the raw topics' counts are checked.
 */
import type { BenchSection, DrainWorkload, SectionContext, SectionResult } from '../types.ts';
import { auditTopic, backlogAsMessages, fmtRate, fmtRatio, openScratch, rawProducer, ratio, round, topicMessageCount, writeBacklog } from '../lib/common.ts';
import { relayDrain } from '../lib/drain.ts';
import { openGate } from '../lib/relay-process.ts';

export function drainWorkload(quick: boolean): DrainWorkload {
  return { rows: quick ? 5000 : 100_000, keys: 1000, payloadBytes: 500, partitions: 6 };
}

export const BATCH_SIZES = [100, 500, 2000] as const;

interface BatchRun {
  batchSize: number;
  relayMsgsPerSec: number;
  relaySeconds: number;
  relayBatches: number;
  rawBeforeMsgsPerSec: number;
  rawAfterMsgsPerSec: number;
  rawMsgsPerSec: number;
  ratio: number;
  backlogWriteRowsPerSec: number;
  audit: { rows: number; messages: number; lost: number; duplicates: number; ghosts: number };
  rawMissing: number;
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const w = drainWorkload(ctx.quick);
  const say = ctx.progress;
  const scratch = await openScratch('drain');
  const runs: BatchRun[] = [];
  try {
    for (const batchSize of BATCH_SIZES) {
      say(`drain: batch ${batchSize} — writing a ${w.rows}-row backlog (${w.keys} keys, ~${w.payloadBytes} B payload)…`);
      await scratch.reset();
      const rawTopic = await scratch.topic(`raw-${batchSize}`, w.partitions);
      const relayTopic = await scratch.topic(`relay-${batchSize}`, w.partitions);
      // The backlog is written behind a gate: the relay starts with it held back, the clock starts at the gate's commit.
      const gate = await openGate(scratch.url);
      let written: { seconds: number };
      let before: Awaited<ReturnType<typeof rawProducer>>;
      let relay: Awaited<ReturnType<typeof relayDrain>>;
      let messages: Awaited<ReturnType<typeof backlogAsMessages>>;
      try {
        written = await writeBacklog(scratch.url, w, say);
        messages = await backlogAsMessages(scratch.url, w.partitions);
        before = await rawProducer(rawTopic, messages, batchSize);
        say(`  raw   : ${fmtRate(before.msgsPerSec)} msg/s`);
        relay = await relayDrain(scratch, relayTopic, batchSize, w.rows, say, gate);
      } finally {
        await gate.close();
      }
      say(`  relay : ${fmtRate(relay.msgsPerSec)} msg/s (${relay.messages} in ${relay.seconds.toFixed(2)} s, ${relay.batches} batches)`);
      const after = await rawProducer(rawTopic, messages, batchSize);
      say(`  raw   : ${fmtRate(after.msgsPerSec)} msg/s`);
      const audit = await auditTopic(scratch, relayTopic);
      const onRaw = await topicMessageCount(scratch.admin, rawTopic);
      const raw = (before.msgsPerSec + after.msgsPerSec) / 2;
      runs.push({
        batchSize,
        relayMsgsPerSec: relay.msgsPerSec,
        relaySeconds: relay.seconds,
        relayBatches: relay.batches,
        rawBeforeMsgsPerSec: before.msgsPerSec,
        rawAfterMsgsPerSec: after.msgsPerSec,
        rawMsgsPerSec: raw,
        ratio: ratio(relay.msgsPerSec, raw),
        backlogWriteRowsPerSec: w.rows / written.seconds,
        audit,
        rawMissing: Math.max(0, 2 * w.rows - onRaw),
      });
      say(`  relay ÷ raw = ${fmtRatio(ratio(relay.msgsPerSec, raw))}; audit: ${audit.messages}/${audit.rows} messages, lost ${audit.lost}, duplicates ${audit.duplicates}`);
    }
  } finally {
    await scratch.close();
  }

  const lost = runs.reduce((n, r) => n + r.audit.lost + r.rawMissing, 0);
  const chartData = runs.flatMap((r) => [
    { batch: r.batchSize, who: 'relay', msgsPerSec: round(r.relayMsgsPerSec) },
    { batch: r.batchSize, who: 'raw kafkajs producer', msgsPerSec: round(r.rawMsgsPerSec) },
  ]);
  return {
    id: 'drain',
    title: drainSection.title,
    table: {
      headers: ['relay batch', 'relay msg/s', 'raw msg/s (before / after)', 'relay ÷ raw', 'relay batches', 'lost', 'duplicates'],
      rows: runs.map((r) => [
        r.batchSize, fmtRate(r.relayMsgsPerSec), `${fmtRate(r.rawMsgsPerSec)} (${fmtRate(r.rawBeforeMsgsPerSec)} / ${fmtRate(r.rawAfterMsgsPerSec)})`,
        fmtRatio(r.ratio), r.relayBatches, r.audit.lost + r.rawMissing, r.audit.duplicates,
      ]),
    },
    ratios: runs.map((r) => ({
      name: `drain, batch ${r.batchSize}: relay ÷ raw producer`,
      measured: `${fmtRate(r.relayMsgsPerSec)} msg/s`,
      reference: `${fmtRate(r.rawMsgsPerSec)} msg/s`,
      value: r.ratio,
    })),
    charts: [
      {
        file: 'drain-rate.svg',
        spec: {
          title: `Drain rate vs batch size (${w.rows.toLocaleString('en-US')} rows)`,
          data: { values: chartData },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'batch', type: 'ordinal', title: 'batch size (relay batchSize = raw sendBatch size)' },
            y: { field: 'msgsPerSec', type: 'quantitative', title: 'messages / s' },
            color: { field: 'who', type: 'nominal', title: null },
          },
        },
      },
      {
        file: 'drain-ratio.svg',
        spec: {
          title: 'Relay ÷ raw producer vs batch size',
          data: { values: runs.map((r) => ({ batch: r.batchSize, ratio: round(r.ratio, 3) })) },
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'batch', type: 'ordinal', title: 'batch size' },
            y: { field: 'ratio', type: 'quantitative', title: 'relay ÷ raw', scale: { domain: [0, 1] } },
          },
        },
      },
    ],
    data: { workload: w, runs },
    notes: [
      `${w.rows.toLocaleString('en-US')}-row backlog, ${w.keys} keys, ~${w.payloadBytes} B JSON payload, ${w.partitions} partitions; direct connections; idempotent producer, acks -1, 1 request in flight, no compression (relay and raw alike).`,
      'The relay starts with the backlog held back by an open "gate" transaction (it never publishes behind an older open transaction); its clock starts when the gate commits and stops when waitUntilDrained() resolves.',
      'Order per batch size: raw, relay, raw — the ratio divides the relay by the mean of the raw runs either side, both measured minutes apart at most on the same loaded machine.',
      'The raw producer sends from memory: no reading, no deleting. The relay also reads the rows (one autocommit SELECT per batch), sends one request per partition (one in flight) and deletes what Kafka acknowledged before the next batch.',
      `Lost = rows of the backlog no message on the relay's topic carries (the auditor's black holes) + raw messages missing on the raw topic; duplicates by event id.`,
    ],
    lost,
  };
}

export const drainSection: BenchSection = { id: 'drain', title: 'Drain: relay vs the raw kafkajs producer', run };
