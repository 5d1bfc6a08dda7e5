/**
 * The relay's Kafka side: one idempotent producer (acks -1, one request in flight, the settings KafkaJS and
 * KIP-98 require so broker-side de-duplication and per-partition order hold across retries) and the topic
 * metadata the relay needs to group messages by partition.
 *
 * The relay picks partitions itself (same partitioner as KafkaJS/Java: murmur2 of the key) and sends a batch as
 * one request for all its partitions (sendPartitions). A request one partition of which is refused throws as a
 * whole, and KafkaJS then advances no partition's sequence numbers — even those the broker wrote. The relay then
 * sends each partition's messages again, alone and identical: the broker answers the duplicate of what it wrote
 * with its first offsets instead of writing it twice (KIP-98), and the refused partition is narrowed down.
 */
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { classifyKafkaError, TopicMissingError } from './kafka-errors.ts';
import type { ResolvedRelayOptions } from '../../options.ts';
import type { ClassifiedError, OutgoingMessage, RelayPublisher, SeamContext } from '../../seams.ts';
import { PartitionCounts } from '../partition-counts.ts';

/** How many times a request's unacknowledged partitions are sent again before it fails (and the relay retries it). */
const MAX_UNACKNOWLEDGED_ROUNDS = 5;

/** A request whose partitions were still not all acknowledged after MAX_UNACKNOWLEDGED_ROUNDS: transient, retried. */
export class UnacknowledgedPartitionsError extends Error {
  constructor(partitions: string, rounds: number) {
    super(`Kafka did not acknowledge ${partitions} after ${rounds} request(s); the relay sends the batch again`);
    this.name = 'UnacknowledgedPartitionsError';
  }
}

/** The entries of `sent` (one partition each) with no record metadata in what sendBatch returned. */
export function unacknowledged<T extends { topic: string; messages: readonly Pick<OutgoingMessage, 'partition'>[] }>(sent: readonly T[], acked: readonly { topicName: string; partition: number }[]): T[] {
  const got = new Set(acked.map((m) => `${m.topicName}\u0000${m.partition}`));
  return sent.filter((r) => r.messages.length > 0 && !got.has(`${r.topic}\u0000${r.messages[0]!.partition}`));
}

/** The kafkajs publisher (the default). */
export function kafkajsPublisher(ctx: SeamContext): RelayPublisher {
  return new KafkaPublisher(ctx.options, ctx.log);
}


/** KafkaJS log lines → pino. KafkaJS reports every retry as an error; to the relay they are routine. */
function pinoLogCreator(log: Logger) {
  return () => (entry: LogEntry) => {
    const { message, ...rest } = entry.log;
    // We limit the producer's own retries on purpose: the relay retries the identical batch itself (README).
    if (message.startsWith('Limiting retries for the idempotent producer')) return;
    const fields = { namespace: entry.namespace, ...rest };
    if (entry.level === logLevel.ERROR || entry.level === logLevel.WARN) log.debug(fields, message);
    else log.trace(fields, message);
  };
}

export class KafkaPublisher implements RelayPublisher {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private connecting: Promise<void> | undefined;
  private readonly partitionCounts = new PartitionCounts();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  /** Last known state, for /health. */
  state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(private readonly opts: Pick<ResolvedRelayOptions, 'brokers' | 'clientId' | 'kafka' | 'compression'>, private readonly log: Logger) {
    this.kafka = new Kafka({
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
      ...opts.kafka,
      brokers: opts.brokers,
      clientId: opts.clientId,
      logLevel: logLevel.INFO,
      logCreator: pinoLogCreator(log.child({ component: 'kafkajs' })),
    });
  }

  get isConnected(): boolean {
    return this.producer !== undefined && this.connecting === undefined;
  }

  /** Connects the producer (and the admin client used for metadata); throws when Kafka cannot be reached. */
  async connect(): Promise<void> {
    if (this.producer && !this.connecting) return;
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // A few quick retries inside KafkaJS; beyond that the relay retries the SAME batch with backoff, forever.
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      const admin = this.kafka.admin();
      try {
        await producer.connect();
        await admin.connect();
      } catch (err) {
        await producer.disconnect().catch(() => {});
        await admin.disconnect().catch(() => {});
        this.state = 'down';
        throw err;
      }
      this.producer = producer;
      this.admin = admin;
      this.state = 'up';
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Partitions of a topic (cached for a minute); TopicMissingError when the cluster says it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    if (!this.admin) await this.connect();
    let count: number;
    try {
      const meta = await this.admin!.fetchTopicMetadata({ topics: [topic] });
      count = meta.topics[0]?.partitions.length ?? 0;
    } catch (err) {
      if ((err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new TopicMissingError(topic);
      // Kafka did not answer a metadata request: that is Kafka being down too (for /health), not only a failed send.
      if (classifyKafkaError(err).kind === 'transient') this.state = 'down';
      throw err;
    }
    this.state = 'up';
    if (count === 0) throw new TopicMissingError(topic);
    this.partitionCounts.set(topic, count);
    return count;
  }

  /** The partition KafkaJS's (and Java's) default partitioner picks for a key. */
  partitionFor(topic: string, key: string, count: number): number {
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    return this.partitioner({ topic, partitionMetadata, message: { key, value: null } });
  }

  /** One produce request: messages of ONE partition, in order. Resolves when Kafka acknowledged all of them (acks -1). */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    return this.sendPartitions([{ topic, messages }]);
  }

  /**
   * One produce request per broker for several partitions (one entry each), acks -1; rejects as a whole.
   *
   * It resolves only when Kafka acknowledged EVERY partition sent. KafkaJS 2.2.4's sendBatch can resolve without
   * having sent a partition: when a broker fails mid-request and, on its retry, the partition's new leader is a broker
   * that already answered for its own partitions, the retry skips that broker (sendMessages.js keeps one response per
   * broker) — the partition's messages are never sent, and no error says so. Seen on the 3-node cluster with a
   * leader killed (`npm run soak -- --kafka-nodes 3`): a committed event missing from the topic, its row deleted.
   * So the acknowledged partitions are checked against those sent, and the missing ones are sent again, alone; their
   * sequence numbers were given back by KafkaJS on the failure, so a copy the old leader did write is de-duplicated.
   */
  async sendPartitions(requests: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<void> {
    if (!this.producer || this.connecting) await this.connect();
    let pending = requests;
    try {
      for (let round = 1; pending.length > 0; round++) {
        const acked = await this.producer!.sendBatch({
          topicMessages: pending.map((r) => ({ topic: r.topic, messages: r.messages as OutgoingMessage[] })),
          acks: -1,
          compression: this.opts.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        });
        this.state = 'up';
        const missing = unacknowledged(pending, acked);
        if (missing.length === 0) return;
        const which = missing.map((r) => `${r.topic}/${r.messages[0]?.partition}`).join(', ');
        if (round >= MAX_UNACKNOWLEDGED_ROUNDS) throw new UnacknowledgedPartitionsError(which, round);
        this.log.warn({ partitions: which, round }, 'Kafka acknowledged the request without these partitions (KafkaJS skipped them on a leader change); sending them again');
        pending = missing;
      }
    } catch (err) {
      if (classifyKafkaError(err).kind !== 'refused') this.state = 'down';
      throw err;
    }
  }

  /** Drops the producer (new producer id next time): after the broker lost or rejected our sequence state. */
  async resetProducer(): Promise<void> {
    const producer = this.producer;
    const admin = this.admin;
    this.producer = undefined;
    this.admin = undefined;
    this.partitionCounts.clear();
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
  }

  classify(err: unknown): ClassifiedError {
    return classifyKafkaError(err);
  }

  forgetTopic(topic: string): void {
    this.partitionCounts.forget(topic);
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => {});
    await this.resetProducer();
  }
}
