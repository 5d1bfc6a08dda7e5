/**
 * Drizzle adapter (node-postgres or postgres.js driver): statements run on the transaction you pass
 * (`db.transaction(async (tx) => …)`). The outbox's `$1…` placeholders become Drizzle parameters (one each, arrays
 * not expanded). Drizzle is loaded only when the adapter runs a statement, so the outbox does not depend on it.
 *
 *   await db.transaction(async (tx) => {
 *     await tx.insert(orders).values(order);
 *     await enqueue(drizzleExecutor(tx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter needs of a Drizzle PostgreSQL transaction; `query` is the `sql` it builds with the drizzle-orm it loads. */
export interface DrizzlePgTransaction {
  execute(query: unknown): Promise<unknown>;
  rollback(): never;
}

export function drizzleExecutor(tx: DrizzlePgTransaction): SqlExecutor {
  requireTransaction('drizzleExecutor', tx, typeof tx?.execute === 'function' && typeof tx?.rollback === 'function', 'drizzleExecutor(tx) inside db.transaction(async (tx) => …)');
  return {
    async query(text, values = []) {
      const { sql } = await import('drizzle-orm');
      const parts = text.split(/\$(\d+)/);
      const chunks = parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${sql.param(values[Number(part) - 1])}`));
      const r = (await tx.execute(sql.join(chunks))) as { rows?: unknown[]; rowCount?: number | null; count?: number } | unknown[];
      // node-postgres returns a pg result; postgres.js an array of rows with `count`
      if (Array.isArray(r)) return { rows: [...r], rowCount: (r as { count?: number }).count ?? r.length };
      return { rows: r.rows ?? [], rowCount: r.rowCount ?? null };
    },
  };
}
