/**
 * An optional RelayPublisher on @confluentinc/kafka-javascript 1.x (librdkafka 2.15; a native addon built from
 * source, an optional peer dependency loaded on connect — see confluent-client.ts). The same contract as the kafkajs
 * and platformatic publishers, on librdkafka's own machinery:
 *
 *  - one idempotent producer (`enable.idempotence`: acks all, a producer id and a sequence number per partition);
 *    librdkafka retries a failed request ITSELF with the same producer id and sequence numbers, so the broker drops
 *    the copy of a request that had landed without its ack;
 *  - `max.in.flight` 1: librdkafka#4953 (open in 2.15) — with 2..5 requests in flight, an OUT_OF_ORDER_SEQUENCE_NUMBER
 *    answer to a request behind a failed one makes librdkafka bump the epoch, and the retried messages can be
 *    written twice. One request in flight per broker connection still carries every partition of that broker;
 *  - `message.timeout.ms` 0 (no local timeout): a message that times out in flight is "possibly persisted", and
 *    librdkafka then bumps the epoch — a retry would be a copy. Instead librdkafka keeps retrying, and send()
 *    gives up waiting after `sendTimeoutMs` (the relay sees a transient failure: backoff, lease check, /health);
 *  - the relay's retry of a send passes the SAME message objects again: a message already handed to librdkafka
 *    (still in flight, or delivered by a send that failed for another message) is not produced again — send() waits
 *    for its delivery report. So a retry never makes a copy, and a request that failed as a whole is retried whole;
 *  - send() / sendPartitions() hand a batch's messages to librdkafka in one go, then flush(): librdkafka sends
 *    them at once (flush() overrides `linger.ms` 50, which only keeps the batch from leaving half-enqueued) — one
 *    request per broker carrying the batch's partitions (unless it exceeds batch.size); the partition is the relay's,
 *    computed with the Java client's murmur2 partitioner (kafkajs's DefaultPartitioner), never librdkafka's default.
 */
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import type { ResolvedRelayOptions } from '../../options.ts';
import type { ClassifiedError, OutgoingMessage, RelayPublisher, SeamContext } from '../../seams.ts';
import { PRODUCER_STATE_KAFKA_ERRORS, REFUSED_KAFKA_ERRORS, TopicMissingError } from '../kafkajs/kafka-errors.ts';
import { PartitionCounts } from '../partition-counts.ts';
import { loadConfluent, type ConfluentError, type ConfluentModule, type ConfluentProducer } from './confluent-client.ts';

/** The @confluentinc/kafka-javascript publisher (optional: `npm run optional-clients -- install confluent`). */
export function confluentPublisher(ctx: SeamContext): RelayPublisher {
  return new ConfluentPublisher(ctx.options, ctx.log);
}

/** Kafka's error codes (protocol) of the names in kafka-errors.ts, and the ones worth naming in a message. */
const KAFKA_ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [2, 'CORRUPT_MESSAGE'],
  [3, 'UNKNOWN_TOPIC_OR_PARTITION'],
  [5, 'LEADER_NOT_AVAILABLE'],
  [6, 'NOT_LEADER_FOR_PARTITION'],
  [7, 'REQUEST_TIMED_OUT'],
  [10, 'MESSAGE_TOO_LARGE'],
  [17, 'INVALID_TOPIC_EXCEPTION'],
  [18, 'RECORD_LIST_TOO_LARGE'],
  [19, 'NOT_ENOUGH_REPLICAS'],
  [20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'],
  [29, 'TOPIC_AUTHORIZATION_FAILED'],
  [32, 'INVALID_TIMESTAMP'],
  [43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
  [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
  [46, 'DUPLICATE_SEQUENCE_NUMBER'],
  [47, 'INVALID_PRODUCER_EPOCH'],
  [49, 'INVALID_PRODUCER_ID_MAPPING'],
  [59, 'UNKNOWN_PRODUCER_ID'],
  [87, 'INVALID_RECORD'],
  [90, 'PRODUCER_FENCED'],
]);

/** librdkafka's local ERR__FATAL: the idempotent producer is unusable (a new one is needed). */
const ERR_FATAL = -150;

/** send() waited longer than sendTimeoutMs for Kafka's acknowledgement; librdkafka still retries the same request. */
export class ConfluentAckTimeoutError extends Error {
  readonly type = 'ACK_TIMEOUT';
  constructor(ms: number, lastError: string | undefined) {
    super(`no acknowledgement from Kafka within ${ms} ms${lastError ? ` (librdkafka: ${lastError})` : ''}; librdkafka keeps retrying the same request, the retry waits for it`);
    this.name = 'ConfluentAckTimeoutError';
  }
}

/** The producer was replaced (resetProducer/close) before these messages were acknowledged. */
class ProducerResetError extends Error {
  readonly type = 'PRODUCER_RESET';
  constructor() {
    super('the producer was reset before Kafka acknowledged these messages');
    this.name = 'ProducerResetError';
  }
}

/** A name for a librdkafka code: Kafka's own name when known, else librdkafka's (ERR__TRANSPORT → _TRANSPORT). */
function codeName(code: number, mod: ConfluentModule | undefined): string | undefined {
  const kafka = KAFKA_ERROR_NAMES.get(code);
  if (kafka) return kafka;
  if (!mod) return undefined;
  for (const [name, value] of Object.entries(mod.CODES.ERRORS)) if (value === code) return name.replace(/^ERR_/, '');
  return undefined;
}

/** What the relay does with a failure of @confluentinc/kafka-javascript (the kinds are those of seams.ts / kafka-errors.ts). */
export function classifyConfluentError(err: unknown, mod?: ConfluentModule): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  // As with the other clients: only the relay's own metadata check says a topic is really missing.
  if (err instanceof TopicMissingError) return { kind: 'refused', type: err.type, message: `${err.type}: ${message}` };
  const e = (err ?? {}) as Partial<ConfluentError> & { type?: unknown };
  if (typeof e.code === 'number') {
    const type = codeName(e.code, mod) ?? `librdkafka error ${e.code}`;
    if (REFUSED_KAFKA_ERRORS.has(type)) return { kind: 'refused', type, message: `${type}: ${message}` };
    if (PRODUCER_STATE_KAFKA_ERRORS.has(type) || e.code === ERR_FATAL || e.isFatal === true) return { kind: 'producer-state', type, message: `${type}: ${message}` };
    return { kind: 'transient', type, message: `${type}: ${message}` };
  }
  const name = typeof e.type === 'string' ? e.type : err instanceof Error ? err.name : 'Error';
  return { kind: 'transient', type: name, message };
}

/** kafkajs-shaped `kafka` option → librdkafka settings (what has no equivalent is reported, not guessed). */
function clientSettings(kafka: ResolvedRelayOptions['kafka'], log: Logger): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  let ssl = false;
  let sasl: { mechanism: string; username: string; password: string } | undefined;
  for (const [k, v] of Object.entries(kafka ?? {})) {
    if (v === undefined) continue;
    if (k === 'connectionTimeout') out['socket.connection.setup.timeout.ms'] = v;
    else if (k === 'requestTimeout') out['request.timeout.ms'] = v;
    else if (k === 'ssl') ssl = Boolean(v);
    else if (k === 'sasl' && ['plain', 'scram-sha-256', 'scram-sha-512'].includes(String((v as { mechanism?: unknown }).mechanism))) sasl = v as typeof sasl;
    else ignored.push(k);
  }
  if (ssl || sasl) out['security.protocol'] = sasl ? (ssl ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl';
  if (sasl) Object.assign(out, { 'sasl.mechanisms': sasl.mechanism.toUpperCase(), 'sasl.username': sasl.username, 'sasl.password': sasl.password });
  if (ignored.length) log.warn({ ignored }, 'the confluent publisher ignores these kafka settings (kafkajs-only)');
  return out;
}

/** librdkafka settings of the relay's idempotent producer (the benchmark's raw producer uses the same). */
export function confluentProducerConfig(opts: Pick<ResolvedRelayOptions, 'brokers' | 'clientId' | 'compression'>): Record<string, unknown> {
  return {
    'bootstrap.servers': opts.brokers.join(','),
    'client.id': opts.clientId,
    'enable.idempotence': true,
    acks: 'all',
    'max.in.flight.requests.per.connection': 1,
    'message.timeout.ms': 0,
    // Long enough that a batch handed over in one go is never split (with 0 its first message leaves alone, and a
    // request whose ack is lost then holds back the rest); send() then calls flush(), which makes librdkafka send at
    // once, ignoring linger.ms — so no batch waits for it (default 5 ms: ≈12k msg/s in 100-message batches here).
    'linger.ms': 50,
    'batch.num.messages': 100_000,
    'allow.auto.create.topics': false,
    'compression.codec': opts.compression === 'gzip' ? 'gzip' : 'none',
    'socket.connection.setup.timeout.ms': 3000,
    'retry.backoff.ms': 100,
    'retry.backoff.max.ms': 1000,
    dr_cb: true,
  };
}

/** One message handed to librdkafka, and its delivery report. */
class Delivery {
  state: 'pending' | 'ok' | 'failed' = 'pending';
  error: unknown;
  readonly promise: Promise<void>;
  private settle!: (err?: unknown) => void;
  constructor(readonly topic: string, readonly partition: number) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.promise.catch(() => {});
  }
  done(err?: unknown): void {
    if (this.state !== 'pending') return;
    this.state = err === undefined ? 'ok' : 'failed';
    this.error = err;
    this.settle(err);
  }
}

/** A producer and the deliveries it owes. */
interface Generation {
  producer: ConfluentProducer;
  /** The message objects handed to this producer (a retry passes the same objects). */
  deliveries: WeakMap<OutgoingMessage, Delivery>;
  pending: Set<Delivery>;
  lastError: string | undefined;
}

export class ConfluentPublisher implements RelayPublisher {
  private mod: ConfluentModule | undefined;
  private gen: Generation | undefined;
  private connecting: Promise<void> | undefined;
  private readonly partitionCounts = new PartitionCounts();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  /** Last known state, for /health. */
  state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    private readonly opts: Pick<ResolvedRelayOptions, 'brokers' | 'clientId' | 'kafka' | 'compression'>,
    private readonly log: Logger,
    /** How long send() waits for an acknowledgement before it reports a transient failure (librdkafka keeps retrying). */
    private readonly sendTimeoutMs = 5000,
    /** Loads the client (a test replaces it to simulate a missing package). */
    private readonly load: () => ConfluentModule = loadConfluent,
  ) {}

  /** Starts the idempotent producer and checks that Kafka answers (a metadata request); throws when it does not. */
  async connect(): Promise<void> {
    if (this.gen && !this.connecting) return;
    this.connecting ??= (async () => {
      const mod = (this.mod ??= this.load());
      const producer = new mod.Producer({ ...confluentProducerConfig(this.opts), ...clientSettings(this.opts.kafka, this.log) });
      const gen: Generation = { producer, deliveries: new WeakMap(), pending: new Set(), lastError: undefined };
      producer.on('delivery-report', (err, report) => {
        const d = report?.opaque;
        if (!(d instanceof Delivery)) return;
        gen.pending.delete(d);
        d.done(err ?? undefined);
      });
      producer.on('event.error', (err) => {
        gen.lastError = err.message;
        this.log.debug({ code: err.code, error: err.message, fatal: err.isFatal }, 'librdkafka error');
      });
      try {
        await new Promise<void>((resolve, reject) => producer.connect({ timeout: 5000 }, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        await this.disconnect(producer, 2000);
        this.state = 'down';
        throw err;
      }
      producer.setPollInBackground(true);
      this.gen = gen;
      this.state = 'up';
      this.log.debug({ librdkafka: mod.librdkafkaVersion }, 'confluent producer ready');
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Partitions of a topic (cached for a minute); TopicMissingError when the cluster says it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    if (!this.gen || this.connecting) await this.connect();
    let count: number;
    try {
      const meta = await new Promise<{ topics: { name: string; partitions: unknown[] }[] }>((resolve, reject) =>
        this.gen!.producer.getMetadata({ topic, timeout: 5000 }, (err, m) => (err ? reject(err) : resolve(m))),
      );
      count = meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    } catch (err) {
      if ((err as { code?: unknown }).code === 3) throw new TopicMissingError(topic);
      if (this.classify(err).kind === 'transient') this.state = 'down';
      throw err;
    }
    this.state = 'up';
    if (count === 0) throw new TopicMissingError(topic);
    this.partitionCounts.set(topic, count);
    return count;
  }

  /** The partition the Java client (and kafkajs's DefaultPartitioner) picks: toPositive(murmur2(key)) % count. */
  partitionFor(topic: string, key: string, count: number): number {
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    return this.partitioner({ topic, partitionMetadata, message: { key, value: null } });
  }

  /**
   * Messages of ONE partition, in order, to librdkafka; resolves when Kafka acknowledged all of them (acks all).
   * A message object this producer already has (the relay's retry) is not produced again: its delivery is awaited.
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    return this.sendPartitions([{ topic, messages }]);
  }

  /**
   * Several partitions at once (each entry one partition, in order): librdkafka carries them in one request per
   * broker. Resolves when all are acknowledged; rejects as a whole. A retry (of all, or of one partition alone after
   * a refusal) hands over only what this producer does not already have, so nothing that landed is written twice.
   */
  async sendPartitions(requests: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<void> {
    if (!this.gen || this.connecting) await this.connect();
    const gen = this.gen!;
    const waits: Promise<void>[] = [];
    let failed: unknown;
    for (const { topic, messages } of requests) {
      for (const m of messages) {
        const known = gen.deliveries.get(m);
        if (known && known.state !== 'failed' && known.topic === topic && known.partition === m.partition) {
          waits.push(known.promise);
          continue;
        }
        const d = new Delivery(topic, m.partition);
        try {
          gen.producer.produce(topic, m.partition, Buffer.from(m.value), m.key, Number(m.timestamp), d, Object.entries(m.headers).map(([k, v]) => ({ [k]: v })));
        } catch (err) {
          // Nothing of this partition after a message librdkafka did not take (order): the retry hands them over again.
          failed ??= err;
          break;
        }
        gen.deliveries.set(m, d);
        gen.pending.add(d);
        waits.push(d.promise);
      }
    }
    // Send now, not after linger.ms (flush() overrides it while it runs; it runs on a worker thread, not awaited).
    if (gen.pending.size > 0) gen.producer.flush(this.sendTimeoutMs, () => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      const all = Promise.all(waits);
      if (failed !== undefined) {
        // Wait for what was handed over (its outcome decides nothing: the send failed), then report the failure.
        await Promise.race([all.catch(() => {}), new Promise((r) => (timer = setTimeout(r, this.sendTimeoutMs)))]);
        throw failed;
      }
      await Promise.race([
        all,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConfluentAckTimeoutError(this.sendTimeoutMs, gen.lastError)), this.sendTimeoutMs);
        }),
      ]);
      this.state = 'up';
    } catch (err) {
      if (this.classify(err).kind !== 'refused') this.state = 'down';
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the producer (new producer id next time): what it still owed fails (the relay sends those rows again). */
  async resetProducer(): Promise<void> {
    const gen = this.gen;
    this.gen = undefined;
    this.partitionCounts.clear();
    if (!gen) return;
    for (const d of gen.pending) d.done(new ProducerResetError());
    gen.pending.clear();
    await this.disconnect(gen.producer, 5000);
  }

  private async disconnect(producer: ConfluentProducer, capMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        try {
          producer.disconnect(0, () => resolve());
        } catch {
          resolve();
        }
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, capMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  classify(err: unknown): ClassifiedError {
    return classifyConfluentError(err, this.mod);
  }

  forgetTopic(topic: string): void {
    this.partitionCounts.forget(topic);
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => {});
    await this.resetProducer();
  }
}
