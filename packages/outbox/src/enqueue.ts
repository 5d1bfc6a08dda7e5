/**
 * `enqueue()` writes outbox rows through the caller's executor — inside the caller's transaction, next to the
 * change the events describe. It never talks to Kafka: the relay publishes the rows once they are committed.
 */
import { OutboxError } from './errors.ts';
import type { OutboxMessage, SqlExecutor } from './types.ts';
import { validateHeaders, validateMessage } from './validate.ts';
import { withOutboxHint } from './sql-errors.ts';
import { outboxTables, type OutboxTables, type ResolvedOutboxTables } from './tables.ts';

export interface EnqueueOptions extends OutboxTables {
  /** Headers added to every message (a message's own headers win), e.g. `{ traceparent }` of the current request. */
  headers?: Record<string, string>;
}

/** At most this many messages per call, so one statement's parameter stays a sensible size. */
export const MAX_MESSAGES_PER_CALL = 10_000;

// One statement for any number of messages: a JSON array in one parameter, expanded in order, so the rows'
// positions follow the array's order (and every executor binds it the same way). The parameter is text cast to
// jsonb, so a client that JSON-encodes jsonb parameters itself (postgres.js) sends the array as it is.
const insertSql = (t: ResolvedOutboxTables) => `insert into ${t.outbox} (id, aggregatetype, aggregateid, type, payload, headers)
select (e.v->>'id')::uuid, e.v->>'aggregatetype', e.v->>'aggregateid', e.v->>'type', e.v->'payload', e.v->'headers'
from jsonb_array_elements($1::text::jsonb) with ordinality as e(v, n)
order by e.n`;

/**
 * Writes one or more messages to the outbox through `executor` and returns their event ids, in order.
 * Run it inside the transaction that makes the change: if that transaction rolls back, so do the messages.
 * `opts.schema` / `opts.table` name the outbox (default public.outbox), as given to migrateOutbox().
 */
export async function enqueue(executor: SqlExecutor, messages: OutboxMessage | readonly OutboxMessage[], opts: EnqueueOptions = {}): Promise<string[]> {
  if (!executor || typeof executor.query !== 'function') {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', 'enqueue() needs an executor as its first argument.', 'Pass pgExecutor(client) or sequelizeExecutor(sequelize, transaction) — the connection your transaction runs on.');
  }
  const list = Array.isArray(messages) ? (messages as readonly OutboxMessage[]) : [messages as OutboxMessage];
  if (list.length === 0) return [];
  if (list.length > MAX_MESSAGES_PER_CALL) {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `enqueue() got ${list.length} messages; at most ${MAX_MESSAGES_PER_CALL} per call.`, 'Split the messages over several enqueue() calls in the same transaction.');
  }
  const tables = outboxTables(opts, 'enqueue()');
  const defaults = validateHeaders(opts.headers, 'enqueue() options');
  const rows = list.map((m, i) => validateMessage(m, i, defaults));
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.id)) throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `Event id ${r.id} appears twice in one enqueue() call.`, 'Give every message its own id (or leave id out).');
    seen.add(r.id);
  }
  // payload is already JSON text: splice it in raw so it is not quoted as a string.
  const json = `[${rows.map((r) => `{"id":${JSON.stringify(r.id)},"aggregatetype":${JSON.stringify(r.aggregatetype)},"aggregateid":${JSON.stringify(r.aggregateid)},"type":${JSON.stringify(r.type)},"payload":${r.payload},"headers":${JSON.stringify(r.headers)}}`).join(',')}]`;
  try {
    await executor.query(insertSql(tables), [json]);
  } catch (err) {
    throw withOutboxHint(err, tables);
  }
  return rows.map((r) => r.id);
}
