/**
 * The kafkajs publisher never takes a partial acknowledgement for a whole one. KafkaJS 2.2.4's sendBatch can resolve
 * without having sent a partition (a leader moved mid-request onto a broker that had already answered — its retry
 * skips that broker); the publisher compares the partitions acknowledged with those sent and sends the missing ones
 * again, alone. Here a scripted producer plays that answer; the cluster soak (services/lab/test/soak-cluster.test.ts)
 * is the proof against the real thing.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { classifyKafkaError } from '../src/publishers/kafkajs/kafka-errors.ts';
import { KafkaPublisher, unacknowledged, UnacknowledgedPartitionsError } from '../src/publishers/kafkajs/kafka-publisher.ts';
import type { OutgoingMessage } from '../src/seams.ts';

const message = (partition: number, key: string): OutgoingMessage => ({ key, value: '{}', partition, timestamp: '0', headers: {} });
const request = (partition: number) => ({ topic: 'orders', messages: [message(partition, `k${partition}a`), message(partition, `k${partition}b`)] });

type Batch = { topicMessages: { topic: string; messages: OutgoingMessage[] }[] };

/** A publisher whose producer answers each sendBatch with `answer(partitions sent)` (the partitions it acknowledges). */
function scripted(answer: (sent: number[], call: number) => number[]) {
  const calls: number[][] = [];
  const publisher = new KafkaPublisher({ brokers: ['127.0.0.1:1'], clientId: 'test', kafka: {}, compression: 'none' }, pino({ level: 'silent' }));
  const producer = {
    sendBatch: async (b: Batch) => {
      const sent = b.topicMessages.map((t) => t.messages[0]!.partition);
      calls.push(sent);
      return answer(sent, calls.length).map((partition) => ({ topicName: 'orders', partition, errorCode: 0, baseOffset: '0' }));
    },
  };
  Object.assign(publisher, { producer });
  return { publisher, calls };
}

describe('kafkajs publisher: every partition sent must be acknowledged', () => {
  it('a request acknowledged without one of its partitions: that partition alone is sent again, then it resolves', async () => {
    const { publisher, calls } = scripted((sent, call) => (call === 1 ? sent.filter((p) => p !== 2) : sent));
    await publisher.sendPartitions([request(0), request(1), request(2)]);
    expect(calls).toEqual([[0, 1, 2], [2]]);
  });

  it('negative control: a partition never acknowledged makes the request fail (transient: the relay retries the batch), never resolve', async () => {
    const { publisher, calls } = scripted((sent) => sent.filter((p) => p !== 1));
    const err = await publisher.sendPartitions([request(0), request(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnacknowledgedPartitionsError);
    expect((err as Error).message).toMatch(/did not acknowledge orders\/1 after 5 request\(s\)/);
    expect(classifyKafkaError(err).kind).toBe('transient');
    expect(calls).toEqual([[0, 1], [1], [1], [1], [1]]);
    expect(publisher.state).toBe('down');
  });

  it('unacknowledged(): by topic and partition', () => {
    expect(unacknowledged([request(0), request(3)], [{ topicName: 'orders', partition: 3 }, { topicName: 'other', partition: 0 }])).toEqual([request(0)]);
    expect(unacknowledged([request(0)], [{ topicName: 'orders', partition: 0 }])).toEqual([]);
  });
});
