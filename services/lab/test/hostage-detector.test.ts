/**
 * The hostage-connection detector on in the lab (startSystem), against the real stack with 1 s of Kafka latency
 * (Toxiproxy): a naive order — its transaction awaits the send — produces exactly one report with a held time of at
 * least 1 s at the naive strategy's send; an outbox order produces none, though the relay in the same process sends
 * the same event through the same slow Kafka (it holds no connection while it does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { startSystem, type RunningSystem } from '../src/system.ts';

const lab = useLab();
const lines: string[] = [];
let system: RunningSystem;

beforeAll(async () => {
  const topic = await lab.topic('orders', 2);
  system = await startSystem({
    config: lab.config,
    port: 0,
    databaseUrl: lab.db.appUrl,
    directDatabaseUrl: lab.db.url,
    topic,
    groupSuffix: `hostage-${lab.id}`,
    relayPort: false,
    log: (l) => lines.push(l),
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

async function order(strategy: 'naive' | 'outbox'): Promise<void> {
  const res = await fetch(`${system.url}/api/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: `hostage-${strategy}`, strategy, items: [{ sku: 'BOOK-001', qty: 1, priceCents: 4599 }] }),
  });
  expect(res.status, await res.text()).toBe(201);
}

describe('detectHostageConnections() in the lab, Kafka 1 s slow', () => {
  it('a naive order: one report, held ≥ 1 s in a transaction, at the naive send — logged with its call site', async () => {
    const detector = system.hostageDetector!;
    const before = detector.count;
    await lab.toxics.with('kafka', { type: 'latency', attributes: { latency: 1000, jitter: 0 } }, () => order('naive'));
    expect(detector.count - before).toBe(1);
    const [report] = detector.reports().slice(-1);
    expect(report).toMatchObject({ brokerCall: 'kafkajs producer.send', inTransaction: true, connections: 1, failed: false });
    expect(report!.heldMs).toBeGreaterThanOrEqual(1000);
    expect(report!.callSite).toMatch(/^services\/order-service\/src\/kafka\/naive-publisher\.ts:\d+ .*← services\/order-service\/src\/orders\/write-order\.ts:\d+ \(writeOrder\)/);
    expect(lines.some((l) => l.startsWith('[hostage-connection]') && l.includes(report!.callSite!))).toBe(true);
  });

  it('an outbox order: no report, though the relay publishes it through the same slow Kafka', async () => {
    const detector = system.hostageDetector!;
    const before = detector.count;
    await lab.toxics.with('kafka', { type: 'latency', attributes: { latency: 1000, jitter: 0 } }, async () => {
      await order('outbox');
      await system.relay!.waitUntilDrained({ timeoutMs: 30_000 }); // published through the slow proxy
    });
    expect(detector.count - before).toBe(0);
  });
});
