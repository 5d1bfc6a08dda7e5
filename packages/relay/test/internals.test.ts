/** The relay's pure parts, without services. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.ts';
import { chunkBySize } from '../src/batch-publisher.ts';
import { classifyKafkaError, TopicMissingError } from '../src/publishers/kafkajs/kafka-errors.ts';
import { outboxSequence } from '../src/kafka-message.ts';
import { Wakeup } from '../src/wakeup.ts';

describe('relay internals', () => {
  it('backoff doubles from initialMs, is capped at maxMs, and jitters within [ceiling/2, ceiling]', () => {
    const b = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, b, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 10].map((n) => backoffDelay(n, b, () => 0))).toEqual([50, 100, 200, 500]);
  });

  it('classifies Kafka errors: the message’s fault, the producer’s state, or transient', () => {
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE', retriable: false });
    const wrapped = Object.assign(new Error('wrapped'), { name: 'KafkaJSNonRetriableError', cause: tooLarge });
    expect(classifyKafkaError(wrapped)).toMatchObject({ kind: 'refused', type: 'MESSAGE_TOO_LARGE' });
    expect(classifyKafkaError(new TopicMissingError('nope'))).toMatchObject({ kind: 'refused', type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    expect(classifyKafkaError(Object.assign(new Error('x'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))).toMatchObject({ kind: 'producer-state' });
    // A restarting broker says UNKNOWN_TOPIC_OR_PARTITION too: only the relay's own metadata check makes it final.
    expect(classifyKafkaError(Object.assign(new Error('x'), { type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true }))).toMatchObject({ kind: 'transient' });
    const retries = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: Object.assign(new Error('ECONNREFUSED'), { name: 'KafkaJSConnectionError' }) });
    expect(classifyKafkaError(retries)).toMatchObject({ kind: 'transient' });
  });

  it('outbox-sequence is the position: the order the relay publishes a key in, whatever the transaction ids', () => {
    const seq = (position: string) => BigInt(outboxSequence({ position }));
    expect(seq('9') < seq('10')).toBe(true);
    expect(outboxSequence({ position: '9007199254740993' })).toBe('9007199254740993');
  });

  it('chunks keep order and stay under the byte limit (one oversized message is a chunk of its own)', () => {
    const item = (bytes: number) => ({ bytes }) as never;
    const chunks = chunkBySize([item(400), item(400), item(400), item(5000), item(100)], 1000);
    expect(chunks.map((c) => c.map((i: { bytes: number }) => i.bytes))).toEqual([[400, 400], [400], [5000], [100]]);
  });

  it('a wake-up that arrives while the loop is busy is not lost', async () => {
    const w = new Wakeup();
    w.wake();
    expect(await w.wait(60_000)).toBe(true);
    expect(await w.wait(1)).toBe(false);
    const waiting = w.wait(60_000);
    w.wake();
    expect(await waiting).toBe(true);
  });
});
