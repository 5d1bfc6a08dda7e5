/**
 * The consumer side of at-least-once delivery. The relay may publish a message twice (a crash between
 * Kafka's ack and the outbox delete); `processOnce` makes the second delivery a no-op.
 *
 * It MUST run inside the same database transaction as the effect `fn` writes: the inbox row and the effect
 * commit together or not at all. If `fn` throws, roll the transaction back — the inbox row goes with it and
 * the message is processed again on redelivery. (Run outside a transaction, a crash after the inbox insert
 * would mark the event done without its effect.)
 *
 *   await client.query('begin');
 *   const outcome = await processOnce(pgExecutor(client), { consumer: 'shipping', eventId }, async () => {
 *     await client.query('insert into shipments …');
 *   });
 *   await client.query('commit');
 */
import { OutboxError } from './errors.ts';
import type { SqlExecutor } from './types.ts';
import { isUuid } from './validate.ts';
import { withOutboxHint } from './sql-errors.ts';
import { outboxTables, type OutboxTables } from './tables.ts';

export type ProcessOutcome = 'processed' | 'duplicate';

export interface InboxEntry {
  /** Who handles the event (e.g. `shipping`): each consumer de-duplicates on its own. */
  consumer: string;
  /** The event id: the Kafka header `id` the relay sets from the outbox row. */
  eventId: string;
}

/**
 * Runs `fn` unless `entry` was processed before. `tables` names the inbox: `inbox` in `schema` (default public),
 * or `<table>_inbox` for an outbox table named otherwise — the same `{ schema, table }` given to migrateOutbox().
 */
export async function processOnce(executor: SqlExecutor, entry: InboxEntry, fn: () => Promise<void> | void, tables: OutboxTables = {}): Promise<ProcessOutcome> {
  const t = outboxTables(tables, 'processOnce()');
  if (typeof entry?.consumer !== 'string' || entry.consumer.trim() === '') {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', 'processOnce() needs a non-empty consumer name.', 'Pass { consumer: "shipping", eventId }.');
  }
  if (!isUuid(entry.eventId)) {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `processOnce(): eventId must be a UUID (got ${JSON.stringify(entry.eventId)}).`, 'Use the message header `id` (message.headers.id.toString()).');
  }
  let inserted: number | null;
  try {
    ({ rowCount: inserted } = await executor.query(`insert into ${t.inbox} (consumer, event_id) values ($1, $2) on conflict do nothing`, [entry.consumer, entry.eventId]));
  } catch (err) {
    throw withOutboxHint(err, t);
  }
  if (inserted !== 1) return 'duplicate';
  await fn();
  return 'processed';
}
