import { describe, expect, it } from 'vitest';
import { useLab } from '../src/index.ts';

const lab = useLab({ database: false });

describe('Kafka through the Toxiproxy `kafka` proxy', () => {
  it('produces and consumes a message through the proxy, and the broker advertises the proxy address', async () => {
    const topic = await lab.topic('roundtrip', 1);
    const kafka = lab.kafka({ via: 'proxy' });
    const admin = kafka.admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    // Clients reconnect to what metadata advertises: it must be the proxy, or toxics would miss the traffic.
    expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual(lab.config.kafka.appBrokers);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value: 'hello through the proxy' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `g-${lab.id}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
    });
    await consumer.disconnect();
    expect(received).toBe('hello through the proxy');
  });

  it('a 1 s latency toxic makes a produce take at least 1 s; removing it restores the time it took before', async () => {
    const topic = await lab.topic('latency', 1);
    const producer = lab.kafka({ via: 'proxy' }).producer();
    await producer.connect();
    // The fastest of three sends: the toxic's effect, not the machine's noise.
    const fastestSend = async () => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await producer.send({ topic, acks: -1, messages: [{ value: 'x' }] });
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const before = await fastestSend();
    const toxic = await lab.toxics.add('kafka', { type: 'latency', attributes: { latency: 1000, jitter: 0 } });
    const during = await fastestSend();
    await toxic.remove();
    const after = await fastestSend();
    await producer.disconnect();

    // Each answer crosses the toxic once: ≥ 1 s with it (a lower bound the toxic causes), and the times
    // with and without it compared with each other, not with a number this machine might miss.
    expect(during).toBeGreaterThanOrEqual(1000);
    expect(during - before).toBeGreaterThanOrEqual(900);
    expect(during - after).toBeGreaterThanOrEqual(900);
    expect(await lab.toxics.list('kafka')).toEqual([]);
  });
});

describe('the toxic helper', () => {
  it('leaves a toxic in place at the end of this test on purpose…', async () => {
    await lab.toxics.add('kafka', { type: 'latency', attributes: { latency: 50, jitter: 0 }, name: 'left_behind' });
    await lab.toxics.setEnabled('postgres', false);
    expect(await lab.toxics.list('kafka')).toContain('left_behind');
  });

  it('…and the next test finds it removed and the proxy enabled again', async () => {
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect((await lab.toxics.proxy('postgres')).enabled).toBe(true);
  });
});
