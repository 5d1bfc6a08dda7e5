/**
 * Dead letters: messages Kafka refused `maxAttempts` times (e.g. larger than the topic's max.message.bytes).
 * While a key has a dead letter, the relay leaves that key's later messages in the outbox (strict per-key order).
 *
 * - replay:  moves the message back into the outbox with its ORIGINAL position and transaction id, so the relay
 *            publishes it first among its key's messages and the parked ones follow in their order. Fix the cause
 *            first (raise the topic's max.message.bytes, create the topic, …) or it fails and returns here.
 * - discard: deletes it; the key's parked messages then flow. Consumers never see the discarded event.
 * Each is one statement, so it is atomic on any executor (a pool is fine). Each takes the outbox's
 * `{ schema, table }` (default public.outbox_dead_letters and public.outbox), as given to migrateOutbox().
 */
import { OutboxError } from './errors.ts';
import type { DeadLetter, SqlExecutor } from './types.ts';
import { isUuid } from './validate.ts';
import { withOutboxHint } from './sql-errors.ts';
import { outboxTables, type OutboxTables, type ResolvedOutboxTables } from './tables.ts';

export interface DeadLetterSummary extends DeadLetter {
  /** Messages of the same key waiting in the outbox behind this one. */
  parked: number;
}

const COLUMNS = 'd.id, d.aggregatetype, d.aggregateid, d.type, d.payload, d.headers, d.created_at, d.position::text as position, d.transaction_id::text as transaction_id, d.attempts, d.error, d.failed_at';

function checkId(id: string): void {
  if (!isUuid(id)) throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `A dead letter id is a UUID; got ${JSON.stringify(id)}.`, 'Copy the id from `npm run dead-letters -- list`.');
}

async function run<T>(t: ResolvedOutboxTables, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withOutboxHint(err, t);
  }
}

export interface ListDeadLettersOptions extends OutboxTables {
  /** At most this many (default 100). */
  limit?: number;
}

/** Dead letters, oldest failure first, each with how many messages of its key are parked behind it. */
export async function listDeadLetters(executor: SqlExecutor, opts: ListDeadLettersOptions = {}): Promise<DeadLetterSummary[]> {
  const t = outboxTables(opts, 'listDeadLetters()');
  const limit = opts.limit ?? 100;
  return run(t, async () => {
    const { rows } = await executor.query(
      `select ${COLUMNS},
         (select count(*)::int from ${t.outbox} o where o.aggregatetype = d.aggregatetype and o.aggregateid = d.aggregateid) as parked
       from ${t.deadLetters} d order by d.failed_at, d.position limit $1`,
      [limit],
    );
    return rows as DeadLetterSummary[];
  });
}

/** Moves a dead letter back into the outbox at its original place; returns it, or throws DW_NOT_FOUND. */
export async function replayDeadLetter(executor: SqlExecutor, id: string, tables: OutboxTables = {}): Promise<DeadLetter> {
  const t = outboxTables(tables, 'replayDeadLetter()');
  checkId(id);
  const { rows } = await run(t, () =>
    executor.query(
      `with d as (delete from ${t.deadLetters} where id = $1 returning *),
       back as (
         insert into ${t.outbox} (id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, attempts, last_error, next_attempt_at)
         select id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, 0, error, null from d
       )
       select ${COLUMNS} from d`,
      [id],
    ),
  );
  if (rows.length === 0) throw new OutboxError('DW_OUTBOX_DEAD_LETTER_NOT_FOUND', `No dead letter with id ${id}.`, 'List them with `npm run dead-letters -- list`; it may have been replayed or discarded already.');
  return rows[0] as DeadLetter;
}

/** Deletes a dead letter for good (its key's parked messages then flow); returns it, or throws DW_NOT_FOUND. */
export async function discardDeadLetter(executor: SqlExecutor, id: string, tables: OutboxTables = {}): Promise<DeadLetter> {
  const t = outboxTables(tables, 'discardDeadLetter()');
  checkId(id);
  const { rows } = await run(t, () => executor.query(`with d as (delete from ${t.deadLetters} where id = $1 returning *) select ${COLUMNS} from d`, [id]));
  if (rows.length === 0) throw new OutboxError('DW_OUTBOX_DEAD_LETTER_NOT_FOUND', `No dead letter with id ${id}.`, 'List them with `npm run dead-letters -- list`; it may have been replayed or discarded already.');
  return rows[0] as DeadLetter;
}
