/**
 * An optional RelayPublisher on @platformatic/kafka 1.x (pure JavaScript; an optional peer dependency, loaded on
 * connect). The same design as the kafkajs publisher (publishers/kafkajs/kafka-publisher.ts):
 *
 *  - one idempotent producer (`idempotent: true`: the client forces acks -1 and one request in flight per
 *    connection); it keeps a sequence number per partition and advances it only when the broker acknowledged a
 *    request, so a retry of a request whose ack was lost carries the same producer id and sequence numbers and the
 *    broker drops the copy;
 *  - one produce request per partition (the relay groups by partition and sets `partition` on every message), so a
 *    request is one record batch that lands or fails as a whole;
 *  - the partition of a key is the Java client's (murmur2(key) & 0x7fffffff) % count — the client's own
 *    `defaultPartitioner` is NOT (it uses `>>> 0`), so the relay never lets the client pick;
 *  - the client retries a few times itself; beyond that the relay retries the identical request with backoff, and
 *    checks its lease before every attempt (the client's own default for an idempotent producer is to retry forever).
 *
 * 1.x, not 2.x: 2.x needs Node.js 22. Since 2.3.0 the client also re-initialises its producer id after a failed
 * idempotent send (platformatic/kafka#309), which would turn the relay's retry of a landed request into a copy.
 */
import type * as Platformatic from '@platformatic/kafka';
import type { Logger } from 'pino';
import { RelayError } from '../../errors.ts';
import type { ResolvedRelayOptions } from '../../options.ts';
import type { ClassifiedError, OutgoingMessage, RelayPublisher, SeamContext } from '../../seams.ts';
import { PRODUCER_STATE_KAFKA_ERRORS, REFUSED_KAFKA_ERRORS, TopicMissingError } from '../kafkajs/kafka-errors.ts';
import { PartitionCounts } from '../partition-counts.ts';

/** The @platformatic/kafka publisher (optional: `npm install @platformatic/kafka@1`). */
export function platformaticPublisher(ctx: SeamContext): RelayPublisher {
  return new PlatformaticPublisher(ctx.options, ctx.log);
}

const INSTALL = 'npm install @platformatic/kafka@1';

type Module = typeof Platformatic;
type Producer = Platformatic.Producer<Buffer, Buffer, Buffer, Buffer>;

/** The error and everything it wraps: MultipleErrors/ResponseError keep theirs in `errors`, others in `cause`. */
function* causes(err: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (!err || typeof err !== 'object' || depth > 8) return;
  const e = err as Record<string, unknown>;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* causes(inner, depth + 1);
  if (e.cause && e.cause !== err) yield* causes(e.cause, depth + 1);
}

/** What the relay does with a failure of @platformatic/kafka (the kinds are those of seams.ts / kafka-errors.ts). */
export function classifyPlatformaticError(err: unknown): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  // As with kafkajs: UNKNOWN_TOPIC_OR_PARTITION from a produce is transient (a restarting broker says it too); only
  // the relay's own metadata check says a topic is really missing.
  if (err instanceof TopicMissingError) return { kind: 'refused', type: err.type, message: `${err.type}: ${message}` };
  const all = [...causes(err)];
  for (const e of all) {
    const type = typeof e.apiId === 'string' ? e.apiId : undefined;
    if (!type) continue;
    const detail = [e.message, e.serverErrorMessage].filter((m) => typeof m === 'string' && m).join(' ');
    if (REFUSED_KAFKA_ERRORS.has(type)) return { kind: 'refused', type, message: `${type}: ${detail}`.trim() };
    if (PRODUCER_STATE_KAFKA_ERRORS.has(type)) return { kind: 'producer-state', type, message: `${type}: ${detail}`.trim() };
  }
  // Transient: name the Kafka error when there is one, and say what the wrapped errors were.
  const kafkaType = all.map((e) => e.apiId).find((t): t is string => typeof t === 'string');
  const leaves = [...new Set(all.slice(1).filter((e) => !Array.isArray(e.errors)).map((e) => String(e.message ?? '')).filter(Boolean))];
  const name = err instanceof Error ? err.name : 'Error';
  return { kind: 'transient', type: kafkaType ?? name, message: leaves.length ? `${message} (${leaves.join('; ')})` : message };
}

/** kafkajs-shaped `kafka` option → the settings @platformatic/kafka understands (the rest is reported, not guessed). */
function clientSettings(kafka: ResolvedRelayOptions['kafka'], log: Logger): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(kafka ?? {})) {
    if (v === undefined) continue;
    if (k === 'connectionTimeout') out.connectTimeout = v;
    else if (k === 'requestTimeout') out.timeout = v;
    else if (k === 'ssl') {
      if (v) out.tls = v === true ? {} : v;
    } else if (k === 'sasl' && ['plain', 'scram-sha-256', 'scram-sha-512'].includes(String((v as { mechanism?: unknown }).mechanism))) {
      const s = v as { mechanism: string; username: string; password: string };
      out.sasl = { mechanism: s.mechanism.toUpperCase(), username: s.username, password: s.password };
    } else ignored.push(k);
  }
  if (ignored.length) log.warn({ ignored }, 'the platformatic publisher ignores these kafka settings (kafkajs-only)');
  return out;
}

export class PlatformaticPublisher implements RelayPublisher {
  private mod: Module | undefined;
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;
  private readonly partitionCounts = new PartitionCounts();
  /** Last known state, for /health. */
  state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    private readonly opts: Pick<ResolvedRelayOptions, 'brokers' | 'clientId' | 'kafka' | 'compression'>,
    private readonly log: Logger,
    /** Loads the client (a test replaces it to simulate a missing package). */
    private readonly load: () => Promise<unknown> = () => import('@platformatic/kafka'),
  ) {}

  private async module(): Promise<Module> {
    if (this.mod) return this.mod;
    try {
      this.mod = (await this.load()) as Module;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new RelayError(
          'DW_RELAY_INVALID_OPTION',
          'The platformatic publisher needs the package @platformatic/kafka, which is not installed.',
          `Run \`${INSTALL}\` (1.x: it runs on Node.js >= 20.19.4), or use the default publisher (kafkajsPublisher).`,
          { option: 'publisher' },
          { cause: err },
        );
      }
      throw err;
    }
    return this.mod;
  }

  /** Starts the idempotent producer (its producer id) and checks that Kafka answers; throws when it does not. */
  async connect(): Promise<void> {
    if (this.producer && !this.connecting) return;
    this.connecting ??= (async () => {
      const mod = await this.module();
      const producer = new mod.Producer({
        connectTimeout: 3000,
        timeout: 10_000,
        retryDelay: 200,
        ...clientSettings(this.opts.kafka, this.log),
        clientId: this.opts.clientId,
        bootstrapBrokers: this.opts.brokers,
        idempotent: true,
        acks: mod.ProduceAcks.ALL,
        // A few quick retries inside the client (more than 1: the client turns 0 or 1 into "forever" for an
        // idempotent producer); beyond that the relay retries the SAME request with backoff, forever.
        retries: 3,
        autocreateTopics: false,
        compression: this.opts.compression === 'gzip' ? 'gzip' : 'none',
      }) as Producer;
      try {
        await producer.initIdempotentProducer({});
      } catch (err) {
        await producer.close().catch(() => {});
        this.state = 'down';
        throw err;
      }
      this.producer = producer;
      this.state = 'up';
      this.log.debug({ producerId: String(producer.producerId), producerEpoch: producer.producerEpoch }, 'platformatic producer ready');
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Partitions of a topic (cached for a minute); TopicMissingError when the cluster says it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    if (!this.producer || this.connecting) await this.connect();
    let count: number;
    try {
      const meta = await this.producer!.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false });
      count = meta.topics.get(topic)?.partitionsCount ?? 0;
    } catch (err) {
      // The client turns UNKNOWN_TOPIC_OR_PARTITION of a metadata request into a UserError "Unknown topic …".
      const e = err as { code?: string; message?: string };
      if (e.code === 'PLT_KFK_USER' && /^Unknown topic /.test(e.message ?? '')) throw new TopicMissingError(topic);
      // Kafka did not answer a metadata request: that is Kafka being down too (for /health), not only a failed send.
      if (classifyPlatformaticError(err).kind === 'transient') this.state = 'down';
      throw err;
    }
    this.state = 'up';
    if (count === 0) throw new TopicMissingError(topic);
    this.partitionCounts.set(topic, count);
    return count;
  }

  /** The partition the Java client (and kafkajs's DefaultPartitioner) picks: toPositive(murmur2(key)) % count. */
  partitionFor(_topic: string, key: string, count: number): number {
    if (!this.mod) throw new Error('platformaticPublisher: partitionFor() before connect()/partitionCount()');
    return (this.mod.murmur2(Buffer.from(key), false) & 0x7fffffff) % count;
  }

  /** One produce request: messages of ONE partition, in order. Resolves when Kafka acknowledged all of them (acks -1). */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (!this.producer || this.connecting) await this.connect();
    const producer = this.producer!;
    try {
      await producer.send({
        messages: messages.map((m) => ({
          topic,
          partition: m.partition,
          key: Buffer.from(m.key),
          value: Buffer.from(m.value),
          timestamp: BigInt(m.timestamp),
          headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        })),
        acks: this.mod!.ProduceAcks.ALL,
      });
      this.state = 'up';
    } catch (err) {
      if (classifyPlatformaticError(err).kind !== 'refused') this.state = 'down';
      throw err;
    }
  }

  /** Drops the producer (new producer id next time): after the broker lost or rejected our sequence state. */
  async resetProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.partitionCounts.clear();
    await producer?.close().catch(() => {});
  }

  classify(err: unknown): ClassifiedError {
    return classifyPlatformaticError(err);
  }

  forgetTopic(topic: string): void {
    this.partitionCounts.forget(topic);
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => {});
    await this.resetProducer();
  }
}
