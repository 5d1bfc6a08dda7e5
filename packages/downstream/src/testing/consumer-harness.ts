/**
 * The set-up every downstream service's tests share: a stand-in order API and a producer for the file, and a
 * `start(topic)` that runs the service's consumer through the proxies with its own group, a leak-tracked Kafka
 * client and fast retries. Call it at the top of a test file, after `useLab()`.
 */
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import type { Lab } from '@dual-write/testkit';
import type { DownstreamConsumer, DownstreamConsumerOptions } from '../index.ts';
import { startFakeOrderApi, type FakeOrderApi } from './fake-order-api.ts';

export type ServiceStarter<O> = (opts: O) => Promise<DownstreamConsumer>;

export interface ConsumerHarness<O> {
  readonly api: FakeOrderApi;
  readonly producer: Producer;
  /** The service on `topic`: its own group, through the `kafka` and `postgres` proxies, retries after 20 … 200 ms. */
  start(topic: string, opts?: O): Promise<DownstreamConsumer>;
}

export function useConsumerHarness<O extends Partial<DownstreamConsumerOptions>>(lab: Lab, name: string, startService: ServiceStarter<O>): ConsumerHarness<O> {
  let api: FakeOrderApi | undefined;
  let producer: Producer | undefined;
  let n = 0;
  beforeAll(async () => {
    api = lab.leaks.trackCloseable('fake order API', await startFakeOrderApi(), 'close');
    producer = lab.kafka().producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await api?.close();
  });
  return {
    get api() {
      return api!;
    },
    get producer() {
      return producer!;
    },
    start(topic, opts) {
      const groupId = `${lab.id}-${name}-${++n}`;
      return startService({
        groupId,
        topic,
        kafka: lab.kafka({ via: 'proxy', clientId: groupId }),
        databaseUrl: lab.db.appUrl,
        orderServiceUrl: api!.url,
        backoff: { initialMs: 20, maxMs: 200 },
        log: () => {},
        ...opts,
      } as O);
    },
  };
}
