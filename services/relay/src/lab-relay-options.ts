/**
 * The lab's settings mapped onto the relay's options: through the proxies unless VIA_PROXY=false (so the lab's
 * faults reach the relay), every aggregate type to ORDERS_TOPIC, and the RELAY_* settings of README "Configuration".
 */
import { resolveConfig, type LabConfig } from '@dual-write/config';
import type { RelayOptions } from '@dual-write/relay';

export function labRelayOptions(config: LabConfig = resolveConfig()): RelayOptions {
  return {
    database: config.database.appUrl,
    brokers: config.kafka.appBrokers,
    topic: config.topics.orders.name,
    port: config.relay.port,
    batchSize: config.relay.batchSize,
    pollIntervalMs: config.relay.pollIntervalMs,
    listen: config.relay.listen,
    maxAttempts: config.relay.maxAttempts,
    slots: config.relay.slots,
    poolMax: config.relay.poolMax,
    logLevel: config.relay.logLevel,
  };
}
