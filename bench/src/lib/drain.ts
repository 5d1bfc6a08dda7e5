/**
 * The relay (in this process) draining the backlog of a scratch database, timed until waitUntilDrained().
 * With a `gate` (see relay-process.ts openGate), the relay starts while the backlog is still held back and the
 * clock starts when the gate commits, so no batch is already in flight before the timing starts.
 *
 * Also each Kafka client the relay can publish with (its publisher seam), and that client's RAW producer: the same
 * messages from memory, idempotent, acks all, one request of `batch` messages in flight at a time — the limit of
 * that client on this machine. kafkajs always; @platformatic/kafka (a devDependency of the relay, so installed);
 * @confluentinc/kafka-javascript when `npm run optional-clients -- install confluent` installed it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Message } from 'kafkajs';
import {
  confluentInstalled, confluentProducerConfig, confluentPublisher, kafkajsPublisher, loadConfluent, platformaticPublisher, startRelay,
  type RelayPublisherFactory,
} from '@dual-write/relay';
import type { Progress } from '../types.ts';
import { brokers, rawProducer, type RawResult, type Scratch } from './common.ts';

export interface RelayDrain {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  batches: number;
  /** Seconds until the first batch was acknowledged. */
  firstBatchSeconds: number;
}

export async function relayDrain(
  scratch: Scratch, topic: string, batchSize: number, rows: number, progress: Progress, gate?: { commit(): Promise<void> },
  /** The relay's publisher (default: the relay's default, kafkajs). */
  publisher?: RelayPublisherFactory,
): Promise<RelayDrain> {
  const relay = await startRelay({ database: scratch.url, brokers, topic, port: false, logLevel: 'warn', batchSize, ...(publisher ? { publisher } : {}) });
  try {
    await gate?.commit();
    let last = performance.now();
    let first = NaN;
    const t0 = performance.now();
    relay.events.on('published', ({ total }) => {
      if (Number.isNaN(first)) first = (performance.now() - t0) / 1000;
      if (performance.now() - last > 3000) {
        last = performance.now();
        progress(`  relay: ${total}/${rows} published`);
      }
    });
    await relay.waitUntilDrained({ timeoutMs: 900_000 });
    const seconds = (performance.now() - t0) / 1000;
    const { published, batches } = relay.stats();
    return { messages: published, seconds, msgsPerSec: published / seconds, batches, firstBatchSeconds: first };
  } finally {
    await relay.stop();
  }
}

/** A Kafka client: the relay's publisher on it, and its raw producer. */
export interface DrainClient {
  id: 'kafkajs' | 'platformatic' | 'confluent';
  /** package@version */
  label: string;
  publisher: RelayPublisherFactory;
  raw(topic: string, messages: Message[], batch: number): Promise<RawResult>;
}

/** The clients installed here, kafkajs first (the reference). */
export async function drainClients(): Promise<{ clients: DrainClient[]; skipped: string[] }> {
  const clients: DrainClient[] = [{ id: 'kafkajs', label: `kafkajs@${packageVersion('kafkajs')}`, publisher: kafkajsPublisher, raw: rawProducer }];
  const skipped: string[] = [];
  try {
    const mod = await loadPlatformatic();
    clients.push({ id: 'platformatic', label: `@platformatic/kafka@${packageVersion('@platformatic/kafka')}`, publisher: platformaticPublisher, raw: (t, m, b) => rawPlatformatic(mod, t, m, b) });
  } catch (err) {
    skipped.push(`@platformatic/kafka: not loadable (${(err as Error).message})`);
  }
  if (confluentInstalled()) {
    const mod = loadConfluent();
    clients.push({ id: 'confluent', label: `@confluentinc/kafka-javascript@${packageVersion('@confluentinc/kafka-javascript')} (librdkafka ${mod.librdkafkaVersion})`, publisher: confluentPublisher, raw: (t, m, b) => rawConfluent(t, m, b) });
  } else {
    skipped.push('@confluentinc/kafka-javascript: not installed (`npm run optional-clients -- install confluent` builds it, ≈2 min)');
  }
  return { clients, skipped };
}

/** Resolves a package the way the relay does (from packages/relay; confluent also from .stack/optional-clients). */
function relayRequire(): NodeRequire {
  return createRequire(import.meta.resolve('@dual-write/relay'));
}

/** The version of an installed package: the package.json above the file it resolves to (its exports may hide it). */
function packageVersion(name: string): string {
  try {
    const main = name === '@confluentinc/kafka-javascript' ? resolveConfluentMain() : relayRequire().resolve(name);
    for (let dir = path.dirname(main); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? '?';
    }
  } catch {
    // unknown
  }
  return '?';
}

function resolveConfluentMain(): string {
  const dir = path.join(process.cwd(), '.stack', 'optional-clients');
  return relayRequire().resolve('@confluentinc/kafka-javascript', { paths: [dir, process.cwd()] });
}

// ---- @platformatic/kafka, typed structurally (the bench does not depend on it; the relay does, as a devDependency)

interface PlatformaticProducer {
  send(opts: { messages: { topic: string; partition: number; key: Buffer; value: Buffer; timestamp: bigint; headers: Map<Buffer, Buffer> }[]; acks: number }): Promise<unknown>;
  initIdempotentProducer(opts: Record<string, unknown>): Promise<unknown>;
  metadata(opts: { topics: string[] }): Promise<unknown>;
  close(): Promise<void>;
}
interface PlatformaticModule {
  Producer: new (opts: Record<string, unknown>) => PlatformaticProducer;
  ProduceAcks: { ALL: number };
}

async function loadPlatformatic(): Promise<PlatformaticModule> {
  return (await import(pathToFileURL(relayRequire().resolve('@platformatic/kafka')).href)) as PlatformaticModule;
}

/** The platformatic raw producer: the publisher's settings (idempotent, acks all), one send() of `batch` messages at a time. */
async function rawPlatformatic(mod: PlatformaticModule, topic: string, messages: Message[], batch: number): Promise<RawResult> {
  const producer = new mod.Producer({
    clientId: 'bench-raw-platformatic', bootstrapBrokers: brokers, idempotent: true, acks: mod.ProduceAcks.ALL, retries: 3, autocreateTopics: false, compression: 'none',
    connectTimeout: 3000, timeout: 10_000, retryDelay: 200,
  });
  await producer.initIdempotentProducer({});
  try {
    const converted = messages.map((m) => ({
      topic,
      partition: m.partition!,
      key: Buffer.from(m.key as string),
      value: Buffer.from(m.value as string),
      timestamp: BigInt(m.timestamp!),
      headers: new Map(Object.entries(m.headers ?? {}).map(([k, v]) => [Buffer.from(k), Buffer.from(String(v))])),
    }));
    // Warm the topic's metadata outside the timing, as the kafkajs raw producer does.
    await producer.metadata({ topics: [topic] });
    const t0 = performance.now();
    let requests = 0;
    for (let i = 0; i < converted.length; i += batch) {
      await producer.send({ messages: converted.slice(i, i + batch), acks: mod.ProduceAcks.ALL });
      requests++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { messages: messages.length, seconds, msgsPerSec: messages.length / seconds, requests };
  } finally {
    await producer.close();
  }
}

/** The confluent raw producer: the publisher's librdkafka settings, `batch` messages handed over, then all their delivery reports awaited. */
async function rawConfluent(topic: string, messages: Message[], batch: number): Promise<RawResult> {
  const mod = loadConfluent();
  const producer = new mod.Producer(confluentProducerConfig({ brokers, clientId: 'bench-raw-confluent', compression: 'none' }));
  producer.on('delivery-report', (err, report) => {
    const d = report?.opaque as { resolve(): void; reject(e: unknown): void } | undefined;
    if (err) d?.reject(err);
    else d?.resolve();
  });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  producer.setPollInBackground(true);
  // As the publisher: the batch handed over in one go, then flush() (librdkafka sends at once, ignoring linger.ms).
  const produce = (list: Message[]) => {
    const all = Promise.all(list.map((m) => new Promise<void>((resolve, reject) => {
      producer.produce(topic, m.partition!, Buffer.from(m.value as string), m.key as string, Number(m.timestamp), { resolve, reject }, Object.entries(m.headers ?? {}).map(([k, v]) => ({ [k]: String(v) })));
    })));
    producer.flush(10_000, () => {});
    return all;
  };
  try {
    // Warm the topic's metadata outside the timing, as the kafkajs raw producer does.
    await new Promise<void>((resolve, reject) => producer.getMetadata({ topic, timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    const t0 = performance.now();
    let requests = 0;
    for (let i = 0; i < messages.length; i += batch) {
      await produce(messages.slice(i, i + batch));
      requests++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { messages: messages.length, seconds, msgsPerSec: messages.length / seconds, requests };
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(5000, () => resolve()));
  }
}
