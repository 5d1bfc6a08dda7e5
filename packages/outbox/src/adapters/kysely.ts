/**
 * Kysely adapter: statements run on the transaction you pass (`db.transaction().execute(async (trx) => …)`),
 * with PostgreSQL's `$1…` parameters as they are. Kysely is loaded only when the adapter runs a statement, so
 * the outbox does not depend on it.
 *
 *   await db.transaction().execute(async (trx) => {
 *     await trx.insertInto('orders').values(order).execute();
 *     await enqueue(kyselyExecutor(trx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter uses of a Kysely transaction (`Transaction<DB>`, any DB); `query` is the `CompiledQuery` it builds. */
export interface KyselyTransaction {
  readonly isTransaction: true;
  executeQuery(query: unknown): Promise<{ readonly rows: unknown[]; readonly numAffectedRows?: bigint }>;
}

export function kyselyExecutor(trx: KyselyTransaction): SqlExecutor {
  requireTransaction('kyselyExecutor', trx, typeof trx?.executeQuery === 'function' && trx?.isTransaction === true, 'kyselyExecutor(trx) inside db.transaction().execute(async (trx) => …)');
  return {
    async query(text, values) {
      const { CompiledQuery } = await import('kysely');
      const r = await trx.executeQuery(CompiledQuery.raw(text, values ? [...values] : []));
      return { rows: r.rows, rowCount: r.numAffectedRows === undefined ? r.rows.length : Number(r.numAffectedRows) };
    },
  };
}
