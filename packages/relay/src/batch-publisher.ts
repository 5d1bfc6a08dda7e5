/**
 * Publishes one batch of outbox rows (already in position order):
 *
 * 1. rows are grouped by (topic, partition), order kept; one produce request per group chunk, so a request
 *    succeeds or fails as a whole (see kafka-publisher.ts);
 * 2. Kafka unavailable → the SAME request is retried with backoff until it succeeds (the idempotent producer
 *    then de-duplicates a retry of a request that did land); nothing else of that partition is sent meanwhile;
 * 3. acknowledged → the rows are handed to onAcknowledged (acked-rows.ts deletes them in bulk, off this path;
 *    a crash before the delete commits republishes them: at-least-once) and the next chunk is sent;
 * 4. Kafka refuses a request (e.g. MESSAGE_TOO_LARGE) → its rows are retried one by one to find the culprit;
 *    a refused row gets an attempt counted (or becomes a dead letter at maxAttempts), and the later rows of its
 *    key stay in the outbox (parked) — other keys go on.
 *
 * The relay reads the next batch while this one is in flight; that batch may hold later rows of a key refused here
 * (read before the refusal was recorded), so after a batch with a refusal the relay drops it and reads again.
 */
import type { Logger } from 'pino';
import type { OutboxRow } from '@dual-write/outbox';
import { backoffDelay } from './backoff.ts';
import { approximateSize, toKafkaMessage } from './kafka-message.ts';
import type { RelayMetrics } from './metrics.ts';
import type { ResolvedRelayOptions } from './options.ts';
import type { Failure, OutgoingMessage, RelayPublisher, RelayStore } from './seams.ts';
import { PublishSpans } from './tracing.ts';

export interface BatchOutcome {
  published: OutboxRow[];
  /** Refused, attempt counted, still in the outbox (retried after its backoff). */
  failed: (Failure & { attempts: number })[];
  deadLettered: Failure[];
  /** Rows left in the outbox because an earlier row of their key failed in this batch. */
  parked: number;
  /** The stop deadline passed while Kafka was unavailable: the unsent rows stay in the outbox. */
  abandoned: boolean;
  /** Kafka refused a row of this batch (failed, dead-lettered or its topic unusable): its key's later rows were parked. */
  refusals: number;
}

interface Outgoing {
  row: OutboxRow;
  message: OutgoingMessage;
  bytes: number;
}

type SendResult = { ok: true } | { ok: false; refused: string } | { ok: false; abandoned: true };

export interface BatchPublisherDeps {
  kafka: RelayPublisher;
  /** Where refusals are recorded (the rest of a store is the loop's business). */
  store: Pick<RelayStore, 'recordFailures' | 'moveToDeadLetters'>;
  opts: Pick<ResolvedRelayOptions, 'topicFor' | 'maxAttempts' | 'retryBackoff' | 'attemptBackoff' | 'maxBatchBytes'>;
  log: Logger;
  metrics: RelayMetrics;
  /** True once stop()'s deadline has passed: give up retrying. */
  shouldAbandon: () => boolean;
  /** False once this instance cannot be sure it still owns its slots (a stale lease): send nothing more. */
  mayPublish: () => boolean;
  /** An interruptible sleep (ends early on stop). */
  sleep: (ms: number) => Promise<void>;
  /** Kafka acknowledged these rows (in order): delete them (acked-rows.ts). */
  onAcknowledged: (rows: OutboxRow[], topic: string) => void;
  onKafkaUnavailable: (error: string, retryInMs: number, attempt: number) => void;
}

const LEASE_LOST = Symbol('lease lost');

const keyOf = (row: OutboxRow) => `${row.aggregatetype}\u0000${row.aggregateid}`;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export class BatchPublisher {
  /** A `publish` span per row (tracing.ts): no-ops unless the application registered an OpenTelemetry SDK. */
  private readonly spans = new PublishSpans();

  constructor(private readonly d: BatchPublisherDeps) {}

  async publish(rows: readonly OutboxRow[]): Promise<BatchOutcome> {
    try {
      return await this.publishRows(rows);
    } finally {
      this.spans.endUnfinished(rows);
    }
  }

  private async publishRows(rows: readonly OutboxRow[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { published: [], failed: [], deadLettered: [], parked: 0, abandoned: false, refusals: 0 };
    const refused: Failure[] = [];
    const blocked = new Set<string>();
    const refuse = (row: OutboxRow, error: string) => {
      outcome.refusals++;
      refused.push({ row, error });
      blocked.add(keyOf(row));
      this.spans.end(row, error);
    };

    // Topic of every row, and the partition count of every topic (waiting out a Kafka outage here too).
    const topics = new Map<OutboxRow, string>();
    for (const row of rows) {
      if (blocked.has(keyOf(row))) {
        outcome.parked++;
        continue;
      }
      let topic: unknown;
      try {
        topic = this.d.opts.topicFor(row.aggregatetype);
      } catch (err) {
        topic = err;
      }
      if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) refuse(row, `topicFor(${JSON.stringify(row.aggregatetype)}) gave no valid topic name: ${topic instanceof Error ? topic.message : String(topic)}`);
      else topics.set(row, topic);
    }
    const counts = new Map<string, number | string>();
    for (const topic of new Set(topics.values())) {
      const r = await this.withKafkaRetry(() => this.d.kafka.partitionCount(topic));
      if ('abandoned' in r) return { ...outcome, abandoned: true };
      counts.set(topic, 'refused' in r ? r.refused : r.value);
    }

    // Group by (topic, partition), keeping order; a key always lands in one group.
    const groups = new Map<string, { topic: string; items: Outgoing[] }>();
    for (const [row, topic] of topics) {
      if (blocked.has(keyOf(row))) {
        outcome.parked++;
        continue;
      }
      const count = counts.get(topic)!;
      if (typeof count === 'string') {
        refuse(row, count);
        continue;
      }
      const partition = this.d.kafka.partitionFor(topic, row.aggregateid, count);
      const message = toKafkaMessage(row, partition);
      this.spans.start(row, topic, message);
      const id = `${topic}\u0000${partition}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { topic, items: [] }));
      g.items.push({ row, message, bytes: approximateSize(message) });
    }

    // Round r sends the r-th size-bounded chunk of every partition: as ONE produce request when the publisher can
    // (sendPartitions), else one request per partition, concurrently. A partition's chunks go out in order.
    const partitions = [...groups.values()].map((g) => ({ topic: g.topic, chunks: chunkBySize(g.items, this.d.opts.maxBatchBytes) }));
    for (let round = 0; partitions.some((p) => round < p.chunks.length); round++) {
      const requests: { topic: string; items: Outgoing[] }[] = [];
      for (const p of partitions) {
        const chunk = p.chunks[round];
        if (!chunk) continue;
        const items = chunk.filter((o) => !blocked.has(keyOf(o.row)));
        outcome.parked += chunk.length - items.length;
        if (items.length) requests.push({ topic: p.topic, items });
      }
      if (requests.length > 1 && this.d.kafka.sendPartitions) {
        const r = await this.sendTogether(requests);
        if ('abandoned' in r) return this.settled(refused, { ...outcome, abandoned: true });
        if (r.ok) {
          for (const q of requests) this.acknowledged(q.topic, q.items, outcome);
          continue;
        }
        // Kafka refused a partition of it and may have written the others. The producer kept every partition's
        // sequence numbers (nothing counts as sent), so each partition's chunk, sent again alone and identical, is
        // recognised by the broker as the duplicate of what landed and acknowledged without being written twice;
        // the refused partition's chunk is then narrowed down to its culprit.
        this.d.log.warn({ partitions: requests.length, error: r.refused }, 'Kafka refused a request of several partitions; sending them one partition at a time');
      }
      const results = await Promise.all(requests.map((q) => this.publishChunk(q.topic, q.items, refuse, blocked)));
      for (const r of results) {
        outcome.published.push(...r.published);
        outcome.parked += r.parked;
        if (r.abandoned) outcome.abandoned = true;
      }
      if (outcome.abandoned) break;
    }
    return this.settled(refused, outcome);
  }

  private async settled(refused: Failure[], outcome: BatchOutcome): Promise<BatchOutcome> {
    await this.settleRefusals(refused, outcome);
    return outcome;
  }

  private acknowledged(topic: string, items: Outgoing[], into: { published: OutboxRow[] }): void {
    const rows = items.map((o) => o.row);
    for (const row of rows) this.spans.end(row);
    into.published.push(...rows);
    this.d.onAcknowledged(rows, topic);
  }

  /** One chunk of one partition: one request; refused → its messages one by one, to find the culprit. */
  private async publishChunk(topic: string, pending: Outgoing[], refuse: (row: OutboxRow, error: string) => void, blocked: Set<string>) {
    const result = { published: [] as OutboxRow[], parked: 0, abandoned: false };
    const r = await this.send(topic, pending);
    if ('abandoned' in r) return { ...result, abandoned: true };
    if (r.ok) {
      this.acknowledged(topic, pending, result);
      return result;
    }
    if (pending.length === 1) {
      refuse(pending[0]!.row, r.refused);
      return result;
    }
    this.d.log.warn({ topic, rows: pending.length, error: r.refused }, 'Kafka refused a request; retrying its messages one by one');
    for (const o of pending) {
      if (blocked.has(keyOf(o.row))) {
        result.parked++;
        continue;
      }
      const one = await this.send(topic, [o]);
      if ('abandoned' in one) return { ...result, abandoned: true };
      if (one.ok) this.acknowledged(topic, [o], result);
      else refuse(o.row, one.refused);
    }
    return result;
  }

  /** One produce request carrying several partitions, retried while Kafka is unavailable. */
  private async sendTogether(requests: { topic: string; items: Outgoing[] }[]): Promise<SendResult> {
    const rows = requests.reduce((n, q) => n + q.items.length, 0);
    if (!this.d.mayPublish()) return this.leaseLost(rows);
    const r = await this.withKafkaRetry<void | typeof LEASE_LOST>(() => {
      if (!this.d.mayPublish()) return Promise.resolve(LEASE_LOST);
      this.d.log.debug({ partitions: requests.length, rows }, 'sending');
      return this.d.kafka.sendPartitions!(requests.map((q) => ({ topic: q.topic, messages: q.items.map((o) => o.message) })));
    });
    if ('value' in r && r.value === LEASE_LOST) return this.leaseLost(rows);
    return 'value' in r ? { ok: true } : r;
  }

  /** One produce request, retried while Kafka is unavailable. */
  private async send(topic: string, items: Outgoing[]): Promise<SendResult> {
    if (!this.d.mayPublish()) return this.leaseLost(items.length);
    const r = await this.withKafkaRetry<void | typeof LEASE_LOST>(() => {
      if (!this.d.mayPublish()) return Promise.resolve(LEASE_LOST);
      this.d.log.debug({ topic, rows: items.length }, 'sending');
      return this.d.kafka.send(topic, items.map((o) => o.message));
    });
    if ('value' in r && r.value === LEASE_LOST) return this.leaseLost(items.length);
    return 'value' in r ? { ok: true } : r;
  }

  private leaseLost(rows: number): SendResult {
    this.d.log.warn({ rows }, 'not sending: this instance may no longer own its slots (its lease is stale — was it stopped or frozen?); the rows stay for their owner');
    return { ok: false, abandoned: true };
  }

  private async withKafkaRetry<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; refused: string } | { ok: false; abandoned: true }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        const c = this.d.kafka.classify(err);
        if (c.kind === 'refused') return { ok: false, refused: c.message };
        if (c.kind === 'producer-state') {
          this.d.log.warn({ error: c.message }, 'the broker lost our idempotent producer state; starting a new producer');
          await this.d.kafka.resetProducer();
        }
        this.d.metrics.kafkaRetries.inc();
        if (this.d.shouldAbandon()) return { ok: false, abandoned: true };
        const delay = backoffDelay(attempt, this.d.opts.retryBackoff);
        this.d.onKafkaUnavailable(c.message, delay, attempt);
        await this.d.sleep(delay);
        if (this.d.shouldAbandon()) return { ok: false, abandoned: true };
      }
    }
  }

  /** Counts the attempt of each refused row, or moves it to the dead letters at maxAttempts. */
  private async settleRefusals(refused: Failure[], outcome: BatchOutcome): Promise<void> {
    if (refused.length === 0) return;
    const retry: (Failure & { delayMs: number; attempts: number })[] = [];
    const dead: Failure[] = [];
    for (const f of refused) {
      const kafkaType = f.error.split(':')[0]!;
      this.d.metrics.failed.inc({ reason: /^[A-Z_]{3,40}$/.test(kafkaType) ? kafkaType : 'OTHER' });
      const attempts = f.row.attempts + 1;
      if (attempts >= this.d.opts.maxAttempts) dead.push(f);
      else retry.push({ ...f, attempts, delayMs: backoffDelay(attempts - 1, this.d.opts.attemptBackoff) });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.d.store.recordFailures(retry);
        await this.d.store.moveToDeadLetters(dead);
        break;
      } catch (err) {
        // Not recorded: the rows are simply read and tried again; their key stays in order either way.
        this.d.log.warn({ err: (err as Error).message }, 'could not record refused messages');
        if (this.d.shouldAbandon() || attempt >= 5) return;
        await this.d.sleep(backoffDelay(attempt, this.d.opts.retryBackoff));
      }
    }
    this.d.metrics.deadLettered.inc(dead.length);
    outcome.failed.push(...retry);
    outcome.deadLettered.push(...dead);
  }
}

/** Consecutive chunks of at most maxBytes (a single larger message is its own chunk). */
export function chunkBySize(items: Outgoing[], maxBytes: number): Outgoing[][] {
  const chunks: Outgoing[][] = [];
  let current: Outgoing[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length && size + item.bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length) chunks.push(current);
  return chunks;
}
