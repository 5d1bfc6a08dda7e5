/**
 * postgres.js adapter: statements run on the transaction you pass (`sql.begin(async (tx) => …)`), with
 * PostgreSQL's `$1…` parameters as they are (`tx.unsafe(text, values)`).
 *
 *   await sql.begin(async (tx) => {
 *     await tx`insert into orders ${tx(order)}`;
 *     await enqueue(postgresJsExecutor(tx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter uses of a postgres.js transaction (`TransactionSql`, any custom types); structural, so the outbox's types need no postgres.js. */
export interface PostgresJsTransaction {
  unsafe(query: string, parameters?: unknown[]): PromiseLike<Iterable<unknown> & { readonly count: number }>;
  savepoint(...args: never[]): unknown;
}

export function postgresJsExecutor(tx: PostgresJsTransaction): SqlExecutor {
  requireTransaction('postgresJsExecutor', tx, typeof tx?.unsafe === 'function' && typeof tx?.savepoint === 'function', 'postgresJsExecutor(tx) inside sql.begin(async (tx) => …)');
  return {
    async query(text, values) {
      const r = await tx.unsafe(text, values ? [...values] : []);
      return { rows: [...r], rowCount: r.count ?? null };
    },
  };
}
