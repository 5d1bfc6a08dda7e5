/**
 * @dual-write/relay — publishes the rows of @dual-write/outbox to Kafka. Run it in-process (`startRelay()`) or as a
 * process (the `outbox-relay` bin). README.md documents every export, the guarantees and their limits.
 */
export { startRelay, type Relay, type RelayEvents, type RelayStats } from './relay.ts';
export { resolveRelayOptions, DEFAULT_TOPIC, RELAY_LOG_LEVELS, RELAY_PUBLISHERS, RELAY_MODES, defaultCdcSlot, type RelayOptions, type ResolvedRelayOptions, type Backoff, type RelayLogLevel, type RelayMode } from './options.ts';
export { RelayError, RELAY_ERROR_CODES, type RelayErrorCode } from './errors.ts';
export { runRelayCli, RELAY_CLI_HELP, type RelayCliOptions } from './run-relay-cli.ts';
export { runDeadLettersCli, DEAD_LETTERS_CLI_HELP, type DeadLettersCliOptions } from './run-dead-letters-cli.ts';
export { toKafkaMessage, outboxSequence } from './kafka-message.ts';
export { SLOT_LOCK_CLASS, relayLockSpace, type RelayLockSpace } from './stores/postgres/relay-session.ts';
export { postgresStore, SLOT_SQL } from './stores/postgres/outbox-store.ts';
export { kafkajsPublisher } from './publishers/kafkajs/kafka-publisher.ts';
export { platformaticPublisher } from './publishers/platformatic/platformatic-publisher.ts';
export { confluentPublisher, confluentProducerConfig } from './publishers/confluent/confluent-publisher.ts';
export { confluentInstalled, loadConfluent, CONFLUENT_INSTALL, CONFLUENT_PACKAGE, type ConfluentModule, type ConfluentProducer } from './publishers/confluent/confluent-client.ts';
export type {
  RelayStore, RelayCoordinator, CoordinatorEvents, RebalanceResult, OutboxStats, Failure, Blocker,
  RelayPublisher, OutgoingMessage, ClassifiedError, FailureKind, SeamContext, RelayStoreFactory, RelayPublisherFactory,
} from './seams.ts';
