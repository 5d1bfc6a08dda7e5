/**
 * Per-key order, checked independently of the relay: the writer numbers each key's messages in commit order
 * (`n`), and the audit reads the topic and reports every message whose `n` goes down within its key. The same
 * check runs on a deliberately broken relay (each batch sent in reverse) to show it can fail.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { RelayOptions } from '../../src/index.ts';
import { activePair, brokenStore } from './pairs.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, relayOn, resetTables } from '../helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

/** 240 messages on 4 keys, committed before the relay starts (so every batch holds several per key); then drained and audited by n. */
async function orderViolations(name: string, opts: RelayOptions = {}): Promise<{ messages: number; orderViolations: number }> {
  const topic = await lab.topic(name, 2);
  const writer = new KeyedWriter(lab.pool({ max: 1 }), ['k1', 'k2', 'k3', 'k4'], 4).start({ max: 240 });
  await writer.finished();
  const relay = await relayOn(lab, topic, { batchSize: 40, ...opts });
  await relay.waitUntilDrained();
  await relay.stop();
  const report = await auditItems(lab, topic, 'json:n');
  expect(report.counts).toMatchObject({ rows: 240, blackHoles: 0, ghosts: 0, withoutSequence: 0 });
  return { messages: report.counts.messages, orderViolations: report.counts.orderViolations };
}

describe('per-key order', () => {
  it('every key’s messages reach Kafka in the order they were committed', async () => {
    expect(await orderViolations('order')).toEqual({ messages: 240, orderViolations: 0 });
  });

  it('negative control: the same check fails for a relay that sends each batch in reverse', async () => {
    const reversed = brokenStore(activePair().store, (inner) => ({ fetchBatch: async (...args) => (await inner.fetchBatch(...args)).reverse() }));
    const broken = await orderViolations('order-reversed', { store: reversed });
    expect(broken.messages).toBe(240);
    expect(broken.orderViolations).toBeGreaterThan(0);
  });
});
