/**
 * Drain: how fast does the relay empty a backlog, next to what its Kafka client itself can produce (the physical
 * limit)? Once per Kafka client the relay can publish with (lib/drain.ts drainClients(): kafkajs always,
 * @platformatic/kafka, @confluentinc/kafka-javascript when installed), all in one run.
 *
 * For each relay batch size (100 / 500 / 2000) and each client: write the backlog into a scratch database (no relay
 * running), then
 *   raw   → that client's idempotent producer (acks all, like the relay) sends the SAME messages (read back from
 *           the backlog, built by the relay's toKafkaMessage: same bytes) from memory, `batch` messages per
 *           request, one at a time, to its own topic with the same partitions;
 *   relay → startRelay({ batchSize, publisher: that client's }) on the backlog, timed until waitUntilDrained();
 *   raw   → the raw producer again, so drift between the measurements shows.
 * relay ÷ raw = relay ÷ the mean of the two raw runs of the SAME client around it; raw ÷ raw kafkajs and relay ÷ raw
 * kafkajs compare the client with kafkajs measured minutes before, at the same batch size. The auditor then compares
 * the relay's topic with the rows written (black holes = lost, duplicates), and the raw topics' counts are checked.
 */
import type { BenchSection, DrainWorkload, SectionContext, SectionResult } from '../types.ts';
import { auditTopic, backlogAsMessages, fmtRate, fmtRatio, openScratch, ratio, round, topicMessageCount, writeBacklog, type RawResult } from '../lib/common.ts';
import { drainClients, relayDrain, type DrainClient } from '../lib/drain.ts';
import { openGate } from '../lib/relay-process.ts';

export function drainWorkload(quick: boolean): DrainWorkload {
  return { rows: quick ? 5000 : 100_000, keys: 1000, payloadBytes: 500, partitions: 6 };
}

export const BATCH_SIZES = [100, 500, 2000] as const;

interface BatchRun {
  batchSize: number;
  /** kafkajs | platformatic | confluent */
  client: DrainClient['id'];
  clientLabel: string;
  relayMsgsPerSec: number;
  relaySeconds: number;
  relayBatches: number;
  rawBeforeMsgsPerSec: number;
  rawAfterMsgsPerSec: number;
  rawMsgsPerSec: number;
  /** relay ÷ this client's raw producer. */
  ratio: number;
  /** This client's raw producer ÷ the raw kafkajs producer (same batch size). */
  rawVsKafkajs: number;
  /** The relay on this client ÷ the raw kafkajs producer. */
  relayVsRawKafkajs: number;
  backlogWriteRowsPerSec: number;
  audit: { rows: number; messages: number; lost: number; duplicates: number; ghosts: number };
  rawMissing: number;
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const w = drainWorkload(ctx.quick);
  const say = ctx.progress;
  const { clients, skipped } = await drainClients();
  const scratch = await openScratch('drain');
  const runs: BatchRun[] = [];
  try {
    for (const batchSize of BATCH_SIZES) {
      let kafkajsRaw = NaN;
      for (const client of clients) {
        say(`drain: batch ${batchSize}, ${client.id} — writing a ${w.rows}-row backlog (${w.keys} keys, ~${w.payloadBytes} B payload)…`);
        await scratch.reset();
        const rawTopic = await scratch.topic(`raw-${client.id}-${batchSize}`, w.partitions);
        const relayTopic = await scratch.topic(`relay-${client.id}-${batchSize}`, w.partitions);
        // The backlog is written behind a gate: the relay starts with it held back, the clock starts at the gate's commit.
        const gate = await openGate(scratch.url);
        let written: { seconds: number };
        let before: RawResult;
        let relay: Awaited<ReturnType<typeof relayDrain>>;
        let messages: Awaited<ReturnType<typeof backlogAsMessages>>;
        try {
          written = await writeBacklog(scratch.url, w, say);
          messages = await backlogAsMessages(scratch.url, w.partitions);
          before = await client.raw(rawTopic, messages, batchSize);
          say(`  raw ${client.id}   : ${fmtRate(before.msgsPerSec)} msg/s`);
          relay = await relayDrain(scratch, relayTopic, batchSize, w.rows, say, gate, client.publisher);
        } finally {
          await gate.close();
        }
        say(`  relay ${client.id} : ${fmtRate(relay.msgsPerSec)} msg/s (${relay.messages} in ${relay.seconds.toFixed(2)} s, ${relay.batches} batches)`);
        const after = await client.raw(rawTopic, messages, batchSize);
        say(`  raw ${client.id}   : ${fmtRate(after.msgsPerSec)} msg/s`);
        const audit = await auditTopic(scratch, relayTopic);
        const onRaw = await topicMessageCount(scratch.admin, rawTopic);
        const raw = (before.msgsPerSec + after.msgsPerSec) / 2;
        if (client.id === 'kafkajs') kafkajsRaw = raw;
        runs.push({
          batchSize,
          client: client.id,
          clientLabel: client.label,
          relayMsgsPerSec: relay.msgsPerSec,
          relaySeconds: relay.seconds,
          relayBatches: relay.batches,
          rawBeforeMsgsPerSec: before.msgsPerSec,
          rawAfterMsgsPerSec: after.msgsPerSec,
          rawMsgsPerSec: raw,
          ratio: ratio(relay.msgsPerSec, raw),
          rawVsKafkajs: ratio(raw, kafkajsRaw),
          relayVsRawKafkajs: ratio(relay.msgsPerSec, kafkajsRaw),
          backlogWriteRowsPerSec: w.rows / written.seconds,
          audit,
          rawMissing: Math.max(0, 2 * w.rows - onRaw),
        });
        say(`  ${client.id}: relay ÷ raw = ${fmtRatio(ratio(relay.msgsPerSec, raw))}, raw ÷ raw kafkajs = ${fmtRatio(ratio(raw, kafkajsRaw))}; audit: ${audit.messages}/${audit.rows} messages, lost ${audit.lost}, duplicates ${audit.duplicates}`);
      }
    }
  } finally {
    await scratch.close();
  }

  const lost = runs.reduce((n, r) => n + r.audit.lost + r.rawMissing, 0);
  const ids = [...new Set(runs.map((r) => r.client))];
  const chartData = runs.flatMap((r) => [
    { batch: r.batchSize, who: `relay (${r.client})`, msgsPerSec: round(r.relayMsgsPerSec) },
    { batch: r.batchSize, who: `raw ${r.client} producer`, msgsPerSec: round(r.rawMsgsPerSec) },
  ]);
  const ratios: SectionResult['ratios'] = [];
  for (const r of runs) {
    // The kafkajs rows keep the names they always had.
    ratios.push({
      name: r.client === 'kafkajs' ? `drain, batch ${r.batchSize}: relay ÷ raw producer` : `drain, batch ${r.batchSize}, ${r.client}: relay ÷ raw ${r.client} producer`,
      measured: `${fmtRate(r.relayMsgsPerSec)} msg/s`,
      reference: `${fmtRate(r.rawMsgsPerSec)} msg/s`,
      value: r.ratio,
    });
  }
  for (const r of runs.filter((x) => x.client !== 'kafkajs')) {
    const kafkajs = runs.find((x) => x.client === 'kafkajs' && x.batchSize === r.batchSize);
    if (!kafkajs) continue;
    ratios.push({ name: `drain, batch ${r.batchSize}: raw ${r.client} ÷ raw kafkajs`, measured: `${fmtRate(r.rawMsgsPerSec)} msg/s`, reference: `${fmtRate(kafkajs.rawMsgsPerSec)} msg/s`, value: r.rawVsKafkajs });
    ratios.push({ name: `drain, batch ${r.batchSize}: relay on ${r.client} ÷ raw kafkajs`, measured: `${fmtRate(r.relayMsgsPerSec)} msg/s`, reference: `${fmtRate(kafkajs.rawMsgsPerSec)} msg/s`, value: r.relayVsRawKafkajs });
  }
  return {
    id: 'drain',
    title: drainSection.title,
    table: {
      headers: ['relay batch', 'client', 'relay msg/s', 'raw msg/s (before / after)', 'relay ÷ raw (same client)', 'raw ÷ raw kafkajs', 'relay ÷ raw kafkajs', 'relay batches', 'lost', 'duplicates'],
      rows: runs.map((r) => [
        r.batchSize, r.client, fmtRate(r.relayMsgsPerSec), `${fmtRate(r.rawMsgsPerSec)} (${fmtRate(r.rawBeforeMsgsPerSec)} / ${fmtRate(r.rawAfterMsgsPerSec)})`,
        fmtRatio(r.ratio), fmtRatio(r.rawVsKafkajs), fmtRatio(r.relayVsRawKafkajs), r.relayBatches, r.audit.lost + r.rawMissing, r.audit.duplicates,
      ]),
    },
    ratios,
    charts: [
      {
        file: 'drain-rate.svg',
        spec: {
          title: `Drain rate vs batch size (${w.rows.toLocaleString('en-US')} rows), per Kafka client`,
          data: { values: chartData },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'batch', type: 'ordinal', title: 'batch size (relay batchSize = raw request size)' },
            y: { field: 'msgsPerSec', type: 'quantitative', title: 'messages / s' },
            color: { field: 'who', type: 'nominal', title: null },
          },
        },
      },
      {
        file: 'drain-ratio.svg',
        spec: {
          title: 'Relay ÷ raw producer of the same client vs batch size',
          data: { values: runs.map((r) => ({ batch: r.batchSize, client: r.client, ratio: round(r.ratio, 3) })) },
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'batch', type: 'ordinal', title: 'batch size' },
            xOffset: { field: 'client', type: 'nominal' },
            y: { field: 'ratio', type: 'quantitative', title: 'relay ÷ raw (same client)', scale: { domain: [0, Math.max(1, ...runs.map((r) => round(r.ratio, 3)))] } },
            color: { field: 'client', type: 'nominal', title: null },
          },
        },
      },
    ],
    data: { workload: w, clients: clients.map((c) => ({ id: c.id, label: c.label })), skipped, runs },
    notes: [
      `${w.rows.toLocaleString('en-US')}-row backlog, ${w.keys} keys, ~${w.payloadBytes} B JSON payload, ${w.partitions} partitions; direct connections; idempotent producer, acks all, no compression (relay and raw alike).`,
      `Clients (${ids.join(', ')}): ${clients.map((c) => c.label).join('; ')}.${skipped.length ? ` Not measured: ${skipped.join('; ')}.` : ''}`,
      'Raw producers, each with its publisher\'s settings: kafkajs sendBatch (1 request in flight); @platformatic/kafka send() (idempotent: 1 in flight per connection); @confluentinc/kafka-javascript produce() of the batch\'s messages, then all delivery reports awaited (librdkafka: max.in.flight 1, then flush(): sent at once) — the same messages (same bytes, partitions chosen by the relay\'s murmur2) from memory, `batch` per request, one batch at a time.',
      'The relay starts with the backlog held back by an open "gate" transaction (it never publishes behind an older open transaction); its clock starts when the gate commits and stops when waitUntilDrained() resolves.',
      'Order per batch size and client: raw, relay, raw — relay ÷ raw divides the relay by the mean of its own client\'s raw runs either side; the kafkajs raw mean of the same batch size is the reference of "÷ raw kafkajs" (measured minutes before, same loaded machine).',
      'The raw producer sends from memory: no reading, no deleting. The relay also reads the rows, sends one request per batch (one per partition when the publisher has no sendPartitions) and deletes what Kafka acknowledged.',
      `Lost = rows of the backlog no message on the relay's topic carries (the auditor's black holes) + raw messages missing on the raw topic; duplicates by event id.`,
    ],
    lost,
  };
}

export const drainSection: BenchSection = { id: 'drain', title: 'Drain: relay vs the raw producer, per Kafka client', run };
