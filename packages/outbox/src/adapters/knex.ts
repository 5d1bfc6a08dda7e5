/**
 * Knex adapter: statements run on the transaction you pass (`knex.transaction(async (trx) => …)`), so the
 * outbox row commits and rolls back with your change. Knex binds `?` placeholders; the outbox's `$1…` ones are
 * rewritten to them (and a literal `?` in the SQL escaped), values in the order they are used.
 *
 *   await knex.transaction(async (trx) => {
 *     await trx('orders').insert(order);
 *     await enqueue(knexExecutor(trx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** `$n` placeholders → Knex's `?`, with the values in the order the placeholders appear. */
export function toQuestionMarks(text: string, values: readonly unknown[] = []): { sql: string; bindings: unknown[] } {
  const bindings: unknown[] = [];
  const sql = text.replace(/\?/g, '\\?').replace(/\$(\d+)/g, (_m, n: string) => {
    bindings.push(values[Number(n) - 1]);
    return '?';
  });
  return { sql, bindings };
}

/** What the adapter uses of a Knex transaction (`Knex.Transaction`); structural, so the outbox's types need no Knex. */
export interface KnexTransaction {
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
  commit(): unknown;
}

export function knexExecutor(trx: KnexTransaction): SqlExecutor {
  requireTransaction('knexExecutor', trx, typeof trx?.raw === 'function' && typeof trx?.commit === 'function', 'knexExecutor(trx) inside knex.transaction(async (trx) => …)');
  return {
    async query(text, values) {
      const { sql, bindings } = toQuestionMarks(text, values);
      const r = (await trx.raw(sql, bindings)) as { rows?: unknown[]; rowCount?: number | null };
      return { rows: r.rows ?? [], rowCount: r.rowCount ?? null };
    },
  };
}
