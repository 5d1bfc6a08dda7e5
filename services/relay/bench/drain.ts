/**
 * How fast does the relay drain a backlog — and how close is that to what kafkajs itself can produce?
 *
 * One run, one machine state: writes an N-row outbox backlog into a scratch database (no relay running), then
 *   raw #1  → an idempotent kafkajs producer (acks -1, 1 in flight, like the relay) sends the SAME messages
 *             (read back from the backlog, built by the relay's toKafkaMessage) from memory, sendBatch by
 *             --batch messages, to its own topic with the same partitions: the physical limit;
 *   relay   → startRelay() on the backlog, timed until waitUntilDrained();
 *   raw #2  → the raw producer again, so drift between the measurements shows;
 * (--rounds R repeats "write the backlog again, relay, raw"). Prints a table (relay ÷ the mean of the raw
 * runs either side) and writes results/relay-drain-<time>.json. Removes its database and topics.
 */
import { CompressionTypes, type Message } from 'kafkajs';
import { startRelay } from '../src/index.ts';
import { approximateSize } from '../src/kafka-message.ts';
import {
  backlogAsMessages, cleanUpOnSignal, cli, endpoints, intFlag, kafkaClient, machine, openScratch, progress, saveResult, table, topicMessageCount, writeBacklog,
} from './common.ts';

const HELP = `Usage: node --import tsx services/relay/bench/drain.ts [options]     (or: npm run bench:relay-drain -- [options])

Relay drain rate for an outbox backlog, next to the raw kafkajs producer rate for the same messages and
batching, measured in the same run (raw, relay, raw …). Scratch database and topics, removed at the end.

Options:
  --rows N            backlog rows (default 50000)
  --keys N            distinct aggregate ids / Kafka keys (default 1000)
  --payload-bytes N   JSON payload size (default 500)
  --batch N           relay batchSize, and the raw producer's messages per sendBatch (default 500)
  --partitions N      partitions of each topic (default 6)
  --rounds N          relay measurements; each is followed by a raw one (default 1 → raw, relay, raw)
  --via-proxy         PostgreSQL and Kafka through Toxiproxy (default: direct — a test may be injecting
                      latency on the proxies at the same time)
  --direct            accepted for compatibility (direct is the default)
  -h, --help          this help

Output: a table on stdout, progress on stderr, JSON in results/relay-drain-<time>.json.`;

const values = cli(HELP, {
  rows: { type: 'string', default: '50000' },
  keys: { type: 'string', default: '1000' },
  'payload-bytes': { type: 'string', default: '500' },
  batch: { type: 'string', default: '500' },
  partitions: { type: 'string', default: '6' },
  rounds: { type: 'string', default: '1' },
  'via-proxy': { type: 'boolean', default: false },
  direct: { type: 'boolean', default: false },
});
const rows = intFlag('rows', values.rows);
const keys = intFlag('keys', values.keys);
const payloadBytes = intFlag('payload-bytes', values['payload-bytes'], 0);
const batch = intFlag('batch', values.batch);
const partitions = intFlag('partitions', values.partitions);
const rounds = intFlag('rounds', values.rounds);
if (values['via-proxy'] && values.direct) {
  console.error('--via-proxy and --direct contradict each other');
  process.exit(2);
}
const ends = endpoints(values['via-proxy']);

interface Measurement {
  kind: 'raw' | 'relay';
  messages: number;
  seconds: number;
  rate: number;
  requests?: number;
}

/** The physical limit: the same messages from memory, one sendBatch (acks -1) per `batch` messages, one after the other. */
async function rawProducer(topic: string, messages: Message[]): Promise<Measurement> {
  const producer = kafkaClient(ends.brokers, 'bench-raw').producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // Warm the metadata of the topic outside the timing, as the relay's first batch does (partitionCount) before its timing matters.
    await producer.sendBatch({ topicMessages: [{ topic, messages: [] }], acks: -1 }).catch(() => {});
    const t0 = performance.now();
    let requests = 0;
    for (let i = 0; i < messages.length; i += batch) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: messages.slice(i, i + batch) }], acks: -1, compression: CompressionTypes.None });
      requests++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { kind: 'raw', messages: messages.length, seconds, rate: messages.length / seconds, requests };
  } finally {
    await producer.disconnect();
  }
}

async function relayDrain(database: string, topic: string): Promise<Measurement> {
  const relay = await startRelay({ database: ends.databaseUrl(database), brokers: ends.brokers, topic, port: false, logLevel: 'warn', batchSize: batch });
  try {
    let last = performance.now();
    relay.events.on('published', ({ total }) => {
      if (performance.now() - last > 2000) {
        last = performance.now();
        progress(`relay: ${total}/${rows} published`);
      }
    });
    const t0 = performance.now();
    relay.events.once('published', () => progress(`relay: first batch acknowledged after ${((performance.now() - t0) / 1000).toFixed(2)} s`));
    await relay.waitUntilDrained({ timeoutMs: 600_000 });
    const seconds = (performance.now() - t0) / 1000;
    const { published, batches } = relay.stats();
    return { kind: 'relay', messages: published, seconds, rate: published / seconds, requests: batches };
  } finally {
    await relay.stop();
  }
}

const scratch = await openScratch('bench_drain');
cleanUpOnSignal(scratch.close);
try {
  const relayTopic = await scratch.topic('relay', partitions);
  const rawTopic = await scratch.topic('raw', partitions);
  progress(`${rows} rows, ${keys} keys, ~${payloadBytes} B payload, batch ${batch}, ${partitions} partitions, ${ends.label}; database ${scratch.database}`);

  const runs: Measurement[] = [];
  const note = (m: Measurement) => {
    runs.push(m);
    progress(`${m.kind.padEnd(5)} #${runs.filter((r) => r.kind === m.kind).length}: ${m.messages} msgs in ${m.seconds.toFixed(2)} s = ${Math.round(m.rate)} msg/s`);
  };
  let messages: Message[] = [];
  let writeSeconds = 0;
  for (let round = 0; round < rounds; round++) {
    writeSeconds = (await writeBacklog(scratch.directUrl, rows, keys, payloadBytes)).seconds;
    if (round === 0) {
      messages = await backlogAsMessages(scratch.directUrl, partitions);
      note(await rawProducer(rawTopic, messages));
    }
    const relayRun = await relayDrain(scratch.database, relayTopic);
    note(relayRun);
    if (relayRun.messages !== rows) throw new Error(`the relay published ${relayRun.messages} messages, expected ${rows}`);
    note(await rawProducer(rawTopic, messages));
  }

  // Nothing lost: every message of every run is on its topic.
  const onRelayTopic = await topicMessageCount(scratch.admin, relayTopic);
  const onRawTopic = await topicMessageCount(scratch.admin, rawTopic);
  const rawRuns = runs.filter((r) => r.kind === 'raw');
  if (onRelayTopic !== rows * rounds || onRawTopic !== rows * rawRuns.length) {
    throw new Error(`messages on the topics: relay ${onRelayTopic} (expected ${rows * rounds}), raw ${onRawTopic} (expected ${rows * rawRuns.length})`);
  }

  const valueBytes = messages.reduce((s, m) => s + Buffer.byteLength(String(m.value)), 0) / messages.length;
  const messageBytes = messages.reduce((s, m) => s + approximateSize(m), 0) / messages.length;
  const comparisons = runs.flatMap((r, i) => {
    if (r.kind !== 'relay') return [];
    const around = [runs[i - 1], runs[i + 1]].filter((x): x is Measurement => x?.kind === 'raw');
    const raw = around.reduce((s, x) => s + x.rate, 0) / around.length;
    return [{ relay: r.rate, rawBefore: around[0]!.rate, rawAfter: around[1]?.rate, raw, ratio: r.rate / raw, seconds: r.seconds }];
  });
  console.log(`\nRelay drain vs raw kafkajs producer (${ends.label}, ${partitions} partitions, ${keys} keys, idempotent, acks -1, 1 in flight, no compression)\n`);
  console.log(table(
    ['run', 'rows', 'payload B', 'msg B (w/ headers)', 'batch', 'relay msg/s', 'raw msg/s (before / after)', 'relay ÷ raw'],
    comparisons.map((c, i) => [
      i + 1, rows, Math.round(valueBytes), Math.round(messageBytes), batch, Math.round(c.relay),
      `${Math.round(c.raw)} (${Math.round(c.rawBefore)} / ${c.rawAfter === undefined ? '–' : Math.round(c.rawAfter)})`, c.ratio.toFixed(2),
    ]),
  ));
  const file = saveResult('relay-drain', {
    at: new Date().toISOString(),
    command: `node --import tsx services/relay/bench/drain.ts ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { rows, keys, payloadBytes, batch, partitions, rounds, connections: ends.label, valueBytes, messageBytes, enqueueRowsPerSecond: rows / writeSeconds },
    machine: machine(),
    runs,
    comparisons,
  });
  console.log(`\nmessages on the topics: relay ${onRelayTopic}, raw ${onRawTopic} (nothing lost) · ${file}`);
} finally {
  await scratch.close();
}
