/** The @platformatic/kafka publisher's pure parts (the conformance suite runs it against Kafka: RELAY_PAIR=postgres+platformatic). */
import * as platformatic from '@platformatic/kafka';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkajsPublisher, resolveRelayOptions, type RelayError } from '../src/index.ts';
import { TopicMissingError } from '../src/publishers/kafkajs/kafka-errors.ts';
import { classifyPlatformaticError, PlatformaticPublisher } from '../src/publishers/platformatic/platformatic-publisher.ts';

const log = pino({ level: 'silent' });
const options = resolveRelayOptions({ database: 'postgres://x@localhost/x', brokers: ['localhost:1'] });

/** A produce response carrying Kafka error `code` for partition 0, as the client raises it. */
const produceError = (code: number) => new platformatic.ResponseError(0, 9, { '/responses/0/partition_responses/0': [code, null] }, {});

describe('platformaticPublisher', () => {
  it('picks the partition the Java client and kafkajs pick (murmur2 & 0x7fffffff), not the client’s own default (>>> 0)', async () => {
    const pub = new PlatformaticPublisher(options, log);
    await (pub as unknown as { module(): Promise<unknown> }).module();
    const kafkajs = kafkajsPublisher({ options, log });
    const keys = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? `order-${i}` : i % 3 === 1 ? `ключ-${i}-é` : `${i * 7919}`));
    for (const count of [1, 3, 6, 7, 32]) {
      const mismatches = keys.filter((k) => pub.partitionFor('t', k, count) !== kafkajs.partitionFor('t', k, count));
      expect(mismatches).toEqual([]);
    }
    // Negative control: the client's defaultPartitioner differs for keys whose murmur2 is negative.
    const differs = keys.filter((k) => platformatic.defaultPartitioner({ topic: 't', value: Buffer.alloc(0) }, Buffer.from(k)) % 7 !== kafkajs.partitionFor('t', k, 7));
    expect(differs.length).toBeGreaterThan(0);
  });

  it('classifies the client’s errors: the message’s fault, the producer’s state, or transient', () => {
    const tooLarge = classifyPlatformaticError(new platformatic.MultipleErrors('produce failed 1 times.', [produceError(10)]));
    expect(tooLarge).toMatchObject({ kind: 'refused', type: 'MESSAGE_TOO_LARGE' });
    expect(tooLarge.message).toMatch(/^MESSAGE_TOO_LARGE: /);
    expect(classifyPlatformaticError(produceError(18))).toMatchObject({ kind: 'refused', type: 'RECORD_LIST_TOO_LARGE' });
    expect(classifyPlatformaticError(produceError(45))).toMatchObject({ kind: 'producer-state', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(classifyPlatformaticError(produceError(59))).toMatchObject({ kind: 'producer-state', type: 'UNKNOWN_PRODUCER_ID' });
    expect(classifyPlatformaticError(new TopicMissingError('nope'))).toMatchObject({ kind: 'refused', type: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'UNKNOWN_TOPIC_OR_PARTITION: Topic "nope" does not exist (the relay does not create topics).' });
    // A restarting broker says UNKNOWN_TOPIC_OR_PARTITION too: only the relay's own metadata check makes it final.
    expect(classifyPlatformaticError(produceError(3))).toMatchObject({ kind: 'transient', type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const network = classifyPlatformaticError(new platformatic.MultipleErrors('produce failed 4 times.', [new platformatic.NetworkError('Connection closed')]));
    expect(network).toMatchObject({ kind: 'transient' });
    expect(network.message).toContain('Connection closed');
    expect(classifyPlatformaticError(new platformatic.TimeoutError('Request timed out'))).toMatchObject({ kind: 'transient' });
  });

  it('without the package installed: a RelayError naming the install command', async () => {
    const missing = Object.assign(new Error("Cannot find package '@platformatic/kafka'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const pub = new PlatformaticPublisher(options, log, () => Promise.reject(missing));
    const err = (await pub.connect().catch((e: unknown) => e)) as RelayError;
    expect(err).toMatchObject({ name: 'RelayError', code: 'DW_RELAY_INVALID_OPTION' });
    expect(err.hint).toContain('npm install @platformatic/kafka@1');
    // Any other failure to load is not disguised as a missing package.
    const broken = new PlatformaticPublisher(options, log, () => Promise.reject(new Error('boom')));
    await expect(broken.connect()).rejects.toThrow('boom');
  });
});
