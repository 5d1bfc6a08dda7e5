/** The naive publisher: a kafkajs producer (acks = all) the request handler awaits. */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { encodeOrderCreated, type OrderCreatedEvent } from '@dual-write/schema';
import { traceSend } from '../orders/tracing.ts';

export interface PublishResult {
  topic: string;
  partition: number;
  offset: string;
}

export interface Publisher {
  publish(event: OrderCreatedEvent): Promise<PublishResult>;
  close(): Promise<void>;
}

export function createNaivePublisher(opts: { brokers: string[]; topic: string; clientId?: string }): Publisher {
  const kafka = new Kafka({
    clientId: opts.clientId ?? 'order-service',
    brokers: opts.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    // A cut broker surfaces within seconds instead of kafkajs' default minute of retries.
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  let connected: Promise<void> | undefined;
  const connect = () => (connected ??= producer.connect().catch((err: unknown) => {
    connected = undefined;
    throw err;
  }));
  return {
    publish(event) {
      // A PRODUCER span under the request's; its trace context rides in the message headers (README "Tracing").
      return traceSend(opts.topic, event, async (traceHeaders) => {
        await connect();
        const message = encodeOrderCreated(event);
        const [meta] = await producer.send({ topic: opts.topic, acks: -1, messages: [{ ...message, headers: { ...traceHeaders, ...message.headers } }] });
        return { topic: opts.topic, partition: meta!.partition, offset: meta!.baseOffset ?? meta!.offset ?? '' };
      });
    },
    async close() {
      if (connected) await producer.disconnect().catch(() => {});
      connected = undefined;
    },
  };
}
