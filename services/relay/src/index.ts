/**
 * @dual-write/relay — publishes the rows of @dual-write/outbox to Kafka. Run it in-process (`startRelay()`)
 * or as a process (`npm run relay`, src/main.ts). See README.md for the guarantees and their limits.
 */
export { startRelay, type Relay, type RelayEvents, type RelayStats } from './relay.ts';
export { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions, type Backoff } from './options.ts';
export { outboxSequence, toKafkaMessage } from './kafka-message.ts';
export { classifyKafkaError, type ClassifiedError, type FailureKind } from './kafka-errors.ts';
export { SLOT_LOCK_CLASS, MEMBER_LOCK_CLASS, REBALANCE_CHANNEL } from './relay-session.ts';
export { SLOT_SQL } from './outbox-store.ts';
