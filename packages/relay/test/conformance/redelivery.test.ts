/**
 * A produce request that reached the broker — its messages are in the partition's log — but whose acknowledgement
 * never came back (a `reset_peer` toxic on the kafka proxy's downstream: the response resets the connection), is
 * retried. The README claims the relay retries it identically (same producer id, same sequence numbers) so the
 * broker drops the copy that did land. Measured, side by side, under the same fault and the same retry:
 *   - the relay (idempotent producer);
 *   - a plain kafkajs producer WITHOUT idempotence, retried by this test exactly like the relay retries
 *     (same messages, same client settings) — the variant the relay's design avoids;
 *   - the same plain producer WITH idempotence — so the difference is idempotence, not the relay's own code.
 * Copies are counted from the partitions' high watermarks (read directly from the broker, not through the proxy),
 * and the relay's topic is audited too.
 */
import type { Message, Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { auditItems, cleanupRelays, migrateForTests, outboxCount, relayOn, resetTables, writeItems } from '../helpers.ts';
import { appendedTo, relayEvent, until } from '../fault-helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

/** Messages in the request whose ack is lost: one key, so one partition and one produce request. */
const N = 10;

async function commit(key: string, count: number, from: number): Promise<void> {
  const pool = lab.pool({ max: 1 });
  const c = await pool.connect();
  try {
    await writeItems(c, Array.from({ length: count }, (_, i) => ({ key, n: from + i })));
  } finally {
    c.release();
    await pool.end();
  }
}

/** A kafkajs producer through the kafka proxy with the relay's client, producer and retry settings (kafka-publisher.ts); `idempotent` is the variable. */
class PlainSender {
  readonly producer: Producer;
  failures = 0;
  private onFailure: (() => void) | undefined;
  /** Resolves at the first send that failed (the test then lets the retry through). */
  readonly failedOnce = new Promise<void>((resolve) => (this.onFailure = resolve));

  constructor(readonly topic: string, readonly idempotent: boolean) {
    const kafka = lab.kafka({ via: 'proxy', clientId: `plain-${idempotent ? 'idempotent' : 'non-idempotent'}`, connectionTimeout: 3000, requestTimeout: 10_000, retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 } });
    this.producer = kafka.producer({ idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 } });
  }

  /** Connects and sends one message: the connection to the partition leader is open before the fault. */
  async warmUp(): Promise<void> {
    await this.producer.connect();
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: 'k', value: JSON.stringify({ warmUp: true }) }] });
  }

  /** Sends the same messages until Kafka acknowledges them — the relay's policy for an unavailable Kafka. */
  async sendUntilAcked(messages: Message[]): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages });
        return;
      } catch {
        this.failures++;
        this.onFailure?.();
        await new Promise((r) => setTimeout(r, 100)); // the retry backoff
      }
    }
    throw new Error(`${this.topic}: never acknowledged`);
  }
}

describe('a request that landed in Kafka but lost its ack, retried', () => {
  it('the relay’s idempotent producer leaves one copy; without idempotence the same retry duplicates', async () => {
    const topics = { relay: await lab.topic('relay', 1), plain: await lab.topic('plain', 1), idempotent: await lab.topic('plain-idempotent', 1) };
    const relay = await relayOn(lab, topics.relay, { retryBackoff: { initialMs: 100, maxMs: 500 } });
    const warm = relayEvent(relay, 'published', 'the warm-up row published');
    await commit('k', 1, 0);
    await warm;
    const plain = new PlainSender(topics.plain, false);
    const idempotent = new PlainSender(topics.idempotent, true);
    try {
      await Promise.all([plain.warmUp(), idempotent.warmUp()]);
      const before = { relay: await appendedTo(lab, topics.relay), plain: await appendedTo(lab, topics.plain), idempotent: await appendedTo(lab, topics.idempotent) };

      // From now on every response from Kafka resets its connection; requests still reach the broker.
      const toxic = await lab.toxics.add('kafka', { type: 'reset_peer', stream: 'downstream', attributes: { timeout: 0 } });
      const relayRetrying = relayEvent(relay, 'kafka-unavailable', 'the relay failing the request (then retrying it)');
      await commit('k', N, 1);
      const messages: Message[] = Array.from({ length: N }, (_, i) => ({ key: 'k', value: JSON.stringify({ n: i }) }));
      const plainAcked = plain.sendUntilAcked(messages);
      const idempotentAcked = idempotent.sendUntilAcked(messages);

      // Each request landed: its N messages are in the log, though no sender got the ack.
      for (const [name, topic] of Object.entries(topics) as [keyof typeof topics, string][]) {
        await until(async () => ((await appendedTo(lab, topic)) >= before[name] + N ? true : undefined), `${name}: the request to land in Kafka`, 30_000, 50);
      }
      expect(relay.stats().published).toBe(1); // only the warm-up: the relay has not seen an ack for the N rows
      expect(await outboxCount(lab)).toBe(N);
      // Each sender saw the request fail and retries the SAME messages; let the retry through.
      await Promise.all([relayRetrying, plain.failedOnce, idempotent.failedOnce]);
      await toxic.remove();
      await Promise.all([relay.waitUntilDrained({ timeoutMs: 60_000 }), plainAcked, idempotentAcked]);

      const copies = {
        relay: (await appendedTo(lab, topics.relay)) - before.relay,
        plain: (await appendedTo(lab, topics.plain)) - before.plain,
        idempotent: (await appendedTo(lab, topics.idempotent)) - before.idempotent,
      };
      const retries = { relay: relay.stats(), plain: plain.failures, idempotent: idempotent.failures };
      console.log(
        `[lost ack] ${N} messages in one request; copies in Kafka after the retry: relay (idempotent) ${copies.relay}, ` +
          `plain idempotent ${copies.idempotent}, plain NON-idempotent ${copies.plain}; failed sends before the ack: plain ${retries.plain}, plain idempotent ${retries.idempotent}`,
      );
      expect(copies.relay).toBe(N);
      expect(copies.idempotent).toBe(N);
      expect(copies.plain).toBeGreaterThanOrEqual(2 * N); // the landed copy and the retry's copy

      await relay.stop();
      expect(await outboxCount(lab)).toBe(0);
      const report = await auditItems(lab, topics.relay);
      expect(report.counts).toMatchObject({ rows: N + 1, messages: N + 1, ghosts: 0, blackHoles: 0, duplicates: 0, orderViolations: 0 });
    } finally {
      await Promise.all([plain.producer.disconnect(), idempotent.producer.disconnect()]);
    }
  });
});
