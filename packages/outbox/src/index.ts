/**
 * @dual-write/outbox — the Transactional Outbox for PostgreSQL: write events in your transaction, let the relay
 * (@dual-write/relay) publish them to Kafka.
 *
 * Glossary
 * - outbox row:      one event waiting to be published, written by `enqueue()` in the same transaction as the
 *                    change it describes (Debezium's outbox contract: id, aggregatetype, aggregateid, type, payload).
 * - event id:        the row's `id` (UUID); the Kafka header `id`. Consumers de-duplicate on it.
 * - aggregate:       the thing an event is about (an order). `aggregatetype` picks the topic, `aggregateid` is the
 *                    Kafka key, so one aggregate's events land in one partition, in order.
 * - executor:        anything that runs `query(text, values)` on the connection of your transaction
 *                    (`pgExecutor(client)`, `sequelizeExecutor(sequelize, t)`); the library never opens one itself.
 * - position:        bigserial: insert order. `transaction_id`: the writer's xid8.
 * - relay:           the process that reads committed rows in position order (per key), publishes them and
 *                    deletes them once Kafka acknowledged them (at-least-once).
 * - slot:            `abs(hashtext(aggregateid)) % slots`; each slot has one relay owner at a time (advisory lock),
 *                    so one key is never published by two relays at once.
 * - attempt:         a publish Kafka refused for the message itself (e.g. too large). After `maxAttempts` the row
 *                    becomes a dead letter.
 * - dead letter:     a row moved to `outbox_dead_letters` with its error; its key's later rows are parked (kept in
 *                    the outbox, unpublished) until it is replayed or discarded.
 * - inbox:           (consumer, event id) pairs a consumer has handled; `processOnce()` skips a redelivered event.
 */
export type { SqlExecutor, OutboxMessage, OutboxRow, DeadLetter, JsonValue } from './types.ts';
export { enqueue, MAX_MESSAGES_PER_CALL, type EnqueueOptions } from './enqueue.ts';
export { processOnce, type ProcessOutcome, type InboxEntry } from './inbox.ts';
export { listDeadLetters, replayDeadLetter, discardDeadLetter, type DeadLetterSummary, type ListDeadLettersOptions } from './dead-letters.ts';
export { applyNumberedMigrations, loadNumberedMigrations, type MigrationSet, type NumberedMigration, type MigrateResult, type Placeholder } from './numbered-migrations.ts';
export { migrateOutbox, loadOutboxMigrations, type OutboxMigrateResult, type MigrateOutboxOptions } from './migrate.ts';
export { outboxTables, keyLockBucketSql, type OutboxTables, type ResolvedOutboxTables } from './tables.ts';
export { pgExecutor, type PgExecutor } from './adapters/pg.ts';
export { sequelizeExecutor } from './adapters/sequelize.ts';
export { knexExecutor } from './adapters/knex.ts';
export { kyselyExecutor } from './adapters/kysely.ts';
export { postgresJsExecutor } from './adapters/postgres-js.ts';
export { drizzleExecutor, type DrizzlePgTransaction } from './adapters/drizzle.ts';
export { typeormExecutor } from './adapters/typeorm.ts';
export { prismaExecutor, type PrismaTransactionClient } from './adapters/prisma.ts';
export { mikroOrmExecutor, type MikroOrmEntityManager } from './adapters/mikro-orm.ts';
export { CodedError, OutboxError, OUTBOX_ERROR_CODES, type OutboxErrorCode } from './errors.ts';
export { OUTBOX_SCHEMA, OUTBOX_TABLE, INBOX_TABLE, KEY_LOCK_BUCKETS } from './names.ts';
