/**
 * The Kafka side: connect (failing fast when unreachable), check the topic exists, take each partition's
 * low/high offsets, and read every partition from its low offset up to that high watermark — with a
 * throwaway consumer group that never commits, so no committed offset anywhere changes what is read.
 */
import { randomUUID } from 'node:crypto';
// kafkajs is CommonJS: Node's ESM loader does not see ConfigResourceTypes as a named export, so it is read from the default one.
import kafkajs, { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { DwError } from '@dual-write/config';
import { OPTION_FLAGS } from './options.ts';
import type { PartitionRead } from './report.ts';

/** A client that fails within seconds when no broker answers. */
export function createKafka(brokers: string[], connectTimeoutMs: number): Kafka {
  return new Kafka({
    clientId: 'dual-write-audit',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: connectTimeoutMs,
    requestTimeout: 30_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
}

function unreachable(brokers: string[], err: unknown): DwError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DwError('DW_AUDIT_UNREACHABLE', `Cannot reach Kafka at ${brokers.join(',')}: ${reason}.`, `Check ${OPTION_FLAGS.brokers} (${brokers.join(',')}) and that the broker is running (npm run stack -- status).`, { brokers }, { cause: err });
}

/** Connects an admin client and checks the topic exists; the caller disconnects it. */
export async function connectAdmin(kafka: Kafka, brokers: string[], topic: string): Promise<Admin> {
  const admin = kafka.admin();
  let topics: string[];
  try {
    await admin.connect();
    topics = await admin.listTopics();
  } catch (err) {
    await admin.disconnect().catch(() => {});
    throw unreachable(brokers, err);
  }
  if (!topics.includes(topic)) {
    await admin.disconnect().catch(() => {});
    throw new DwError('DW_AUDIT_SOURCE_MISSING', `Topic "${topic}" does not exist on ${brokers.join(',')}.`, topicHint(topic, topics), { topic, brokers });
  }
  return admin;
}

/** Names a few existing topics, the most alike first. */
function topicHint(topic: string, topics: string[]): string {
  const visible = topics.filter((t) => !t.startsWith('__'));
  if (visible.length === 0) return `The broker has no topics yet; check ${OPTION_FLAGS.brokers}, or create "${topic}" first.`;
  const needle = topic.toLowerCase();
  const common = (t: string) => {
    const s = t.toLowerCase();
    let n = 0;
    while (n < s.length && s[n] === needle[n]) n++;
    return s.includes(needle) || needle.includes(s) ? n + needle.length : n;
  };
  const shown = [...visible].sort((a, b) => common(b) - common(a) || a.localeCompare(b)).slice(0, 8);
  const more = visible.length > shown.length ? ` (and ${visible.length - shown.length} more)` : '';
  return `Check ${OPTION_FLAGS.topic}. Existing topics: ${shown.join(', ')}${more}.`;
}

/**
 * The topic's `message.timestamp.type`: with LogAppendTime every message carries when the broker appended it
 * (what the premature check needs); with CreateTime it carries whatever the producer set. Undefined when the
 * broker would not say.
 */
export async function topicTimestampType(admin: Admin, topic: string): Promise<string | undefined> {
  try {
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['message.timestamp.type'] }] });
    return resources[0]?.configEntries.find((e) => e.configName === 'message.timestamp.type')?.configValue;
  } catch {
    return undefined;
  }
}

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/** Low and high offsets of every partition, taken now: the audit reads exactly [low, high). */
export async function snapshotOffsets(admin: Admin, brokers: string[], topic: string): Promise<PartitionOffsets[]> {
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition);
  } catch (err) {
    throw unreachable(brokers, err);
  }
}

export interface ReadTopicOptions {
  kafka: Kafka;
  brokers: string[];
  topic: string;
  partitions: PartitionOffsets[];
  idleTimeoutMs: number;
  /** When given, the throwaway consumer group is deleted with it afterwards (best effort). */
  admin?: Admin;
  onMessage: (partition: number, offset: number, message: KafkaMessage) => void;
  onPartitionDone?: (partition: PartitionRead) => void;
}

/**
 * Reads every partition from low up to (not including) its high watermark, then disconnects.
 * Messages are handed over in offset order per partition, each exactly once (a re-fetch after a
 * rebalance is skipped). Resolves with how many messages each partition gave.
 */
export async function readTopic(o: ReadTopicOptions): Promise<PartitionRead[]> {
  const state = new Map(o.partitions.map((p) => [p.partition, { ...p, next: p.low, messages: 0, done: p.low >= p.high }]));
  const result = () => [...state.values()].map((s) => ({ partition: s.partition, low: s.low, high: s.high, messages: s.messages }));
  for (const s of state.values()) if (s.done) o.onPartitionDone?.({ partition: s.partition, low: s.low, high: s.high, messages: 0 });
  if ([...state.values()].every((s) => s.done)) return result();

  const groupId = `dual-write-audit-${randomUUID()}`;
  const consumer = o.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500, retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3000 } });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        if (err) reject(err);
        else resolve();
      };
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          const stuck = [...state.values()].filter((s) => !s.done).map((s) => `${s.partition} (at offset ${s.next} of ${s.high})`);
          finish(new DwError('DW_AUDIT_UNREACHABLE', `Reading topic "${o.topic}" from ${o.brokers.join(',')} made no progress for ${o.idleTimeoutMs} ms; partitions not finished: ${stuck.join(', ')}.`, `Check the broker's health (npm run stack -- logs kafka); on a slow broker raise ${OPTION_FLAGS.idleTimeoutMs}.`, { topic: o.topic, stuck }));
        }, o.idleTimeoutMs);
      };
      /** A fetched batch ended at `lastOffset` (this covers batches of control records only, which the consumer never hands over). */
      const advance = (partition: number, lastOffset: number) => {
        const s = state.get(partition);
        if (!s || s.done) return;
        arm();
        if (lastOffset >= s.high - 1) {
          s.done = true;
          consumer.pause([{ topic: o.topic, partitions: [partition] }]);
          o.onPartitionDone?.({ partition, low: s.low, high: s.high, messages: s.messages });
          if ([...state.values()].every((x) => x.done)) finish();
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === o.topic) advance(payload.partition, Number(payload.lastOffset));
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) finish(unreachable(o.brokers, payload.error));
      });
      arm();
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const s = state.get(batch.partition);
            if (!s || s.done || batch.topic !== o.topic) return;
            for (const m of batch.messages) {
              const offset = Number(m.offset);
              if (offset >= s.high) break;
              if (offset < s.next) continue; // already seen: a re-fetch after a rebalance
              s.next = offset + 1;
              s.messages++;
              o.onMessage(batch.partition, offset, m);
            }
          },
        })
        .catch((err: unknown) => finish(unreachable(o.brokers, err)));
    });
  } catch (err) {
    throw err instanceof DwError ? err : unreachable(o.brokers, err);
  } finally {
    await consumer.disconnect().catch(() => {});
    // Best effort: the group never committed anything, and the broker would expire it anyway.
    await o.admin?.deleteGroups([groupId]).catch(() => {});
  }
  return result();
}
