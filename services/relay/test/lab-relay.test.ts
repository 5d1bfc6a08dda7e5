/**
 * The lab's relay entry maps the lab's settings onto the product's options: through the proxies unless
 * VIA_PROXY=false, every aggregate type to ORDERS_TOPIC, the lab's RELAY_* values. The product itself assumes none of it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { resolveRelayOptions } from '@dual-write/relay';
import { runCommand } from '@dual-write/testkit';
import { labRelayOptions } from '../src/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const env = { DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5999/app', KAFKA_BROKERS: '127.0.0.1:5998', ORDERS_TOPIC: 'orders_x', RELAY_BATCH_SIZE: '77' };

describe('services/relay: the lab on top of @dual-write/relay', () => {
  it('through the proxies by default, direct with VIA_PROXY=false; every type to ORDERS_TOPIC; the lab RELAY_* values', () => {
    const viaProxy = resolveRelayOptions(labRelayOptions(resolveConfig({}, env)), {});
    const config = resolveConfig({}, env);
    expect(viaProxy.database).toBe(config.database.appUrl);
    expect(viaProxy.database).not.toBe(env.DATABASE_URL);
    expect(viaProxy.brokers).toEqual(config.kafka.appBrokers);
    expect([viaProxy.topicFor('order'), viaProxy.topicFor('invoice'), viaProxy.batchSize]).toEqual(['orders_x', 'orders_x', 77]);
    const direct = resolveRelayOptions(labRelayOptions(resolveConfig({}, { ...env, VIA_PROXY: 'false' })), {});
    expect([direct.database, direct.brokers]).toEqual([env.DATABASE_URL, [env.KAFKA_BROKERS]]);
  });

  it('negative control: the product alone, given the same environment, uses it as given and routes by aggregatetype', () => {
    const product = resolveRelayOptions({}, env);
    expect([product.database, product.topicFor('order')]).toEqual([env.DATABASE_URL, 'outbox.event.order']);
  });

  it('npm run relay -- --help describes the lab mapping and the relay settings', async () => {
    const r = await runCommand(process.execPath, ['--import', 'tsx', 'services/relay/src/main.ts', '--help'], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ORDERS_TOPIC');
    expect(r.stdout).toContain('RELAY_BATCH_SIZE');
  });
});
