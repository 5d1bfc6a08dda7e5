/**
 * The latency section's consumer, in its own process: a kafkajs consumer that never commits offsets
 * (autoCommit off: no group commit in the fetch loop) and handles all partitions' batches concurrently, so the
 * next fetch follows the last one as soon as the batches are handed over. For every message it sends the
 * parent the event id (header `id`), the broker's LogAppendTime (the topic is created with
 * message.timestamp.type=LogAppendTime) and when the batch reached this process (monotonic clock).
 * Settings: env BENCH_LATENCY_CONSUMER (JSON ConsumerSettings). Protocol: → ready (joined its group, owns every
 * partition) · → batch … Exits when the parent closes the channel.
 */
import { monoMs } from './clock.ts';
import { kafkaClient } from './common.ts';
import { failToParent, toParent } from './ipc-child.ts';
import type { Arrival, ConsumerSettings, FromConsumer } from './latency-ipc.ts';

const send = (m: FromConsumer) => toParent(m);

async function main(): Promise<void> {
  const raw = process.env.BENCH_LATENCY_CONSUMER;
  if (!raw) throw new Error('BENCH_LATENCY_CONSUMER (JSON settings) is not set');
  const { topic, partitions } = JSON.parse(raw) as ConsumerSettings;
  const consumer = kafkaClient('bench-latency-consumer').consumer({ groupId: `bench-latency-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
  process.on('disconnect', () => void consumer.disconnect().finally(() => process.exit(0)));
  // kafkajs restarts the consumer after a retriable crash (it rejoins and, with no committed offsets, reads the topic
  // again: the parent counts those as duplicates); any other crash ends the measurement.
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) failToParent(e.payload.error);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // A join may come before the consumer's metadata knows every partition of the new topic: wait for the one that does.
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, (e) => {
    if ((e.payload.memberAssignment[topic]?.length ?? 0) === partitions) resolve();
  }));
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      const receivedAt = monoMs();
      const arrivals: Arrival[] = batch.messages.map((m) => [String(m.headers?.id ?? ''), Number(m.timestamp), receivedAt]);
      if (arrivals.length) send({ type: 'batch', arrivals });
    },
  });
  await joined;
  send({ type: 'ready' });
}

main().catch(failToParent);
