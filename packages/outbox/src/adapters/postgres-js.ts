/**
 * postgres.js adapter: statements run on the transaction you pass (`sql.begin(async (tx) => …)`), with
 * PostgreSQL's `$1…` parameters as they are (`tx.unsafe(text, values)`).
 *
 *   await sql.begin(async (tx) => {
 *     await tx`insert into orders ${tx(order)}`;
 *     await enqueue(postgresJsExecutor(tx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { ParameterOrJSON, TransactionSql } from 'postgres';
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever custom types the caller's sql instance has
export function postgresJsExecutor(tx: TransactionSql<any>): SqlExecutor {
  requireTransaction('postgresJsExecutor', tx, typeof tx?.unsafe === 'function' && typeof tx?.savepoint === 'function', 'postgresJsExecutor(tx) inside sql.begin(async (tx) => …)');
  return {
    async query(text, values) {
      const r = await tx.unsafe(text, values ? ([...values] as ParameterOrJSON<never>[]) : []);
      return { rows: [...r], rowCount: r.count ?? null };
    },
  };
}
