/**
 * Prisma adapter (interactive transactions): statements run on the transaction client you pass
 * (`prisma.$transaction(async (tx) => …)`) with `$queryRawUnsafe` / `$executeRawUnsafe` and PostgreSQL's `$1…`
 * parameters bound, never spliced. A statement that returns rows (`select`, `with`, `… returning`) is a query;
 * any other is an execute, whose affected-row count is the result's `rowCount`.
 *
 *   await prisma.$transaction(async (tx) => {
 *     await tx.order.create({ data: order });
 *     await enqueue(prismaExecutor(tx), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter needs of a Prisma interactive-transaction client. */
export interface PrismaTransactionClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

const RETURNS_ROWS = /^\s*(select|with)\b|\breturning\b/i;

export function prismaExecutor(tx: PrismaTransactionClient): SqlExecutor {
  // Prisma's transaction client looks like the client itself at run time: pass the `tx` of $transaction, not `prisma`.
  const ok = typeof tx?.$queryRawUnsafe === 'function' && typeof tx?.$executeRawUnsafe === 'function';
  requireTransaction('prismaExecutor', tx, ok, 'prismaExecutor(tx) inside prisma.$transaction(async (tx) => …)');
  return {
    async query(text, values = []) {
      if (RETURNS_ROWS.test(text)) {
        const rows = await tx.$queryRawUnsafe<unknown[]>(text, ...values);
        return { rows, rowCount: rows.length };
      }
      return { rows: [], rowCount: await tx.$executeRawUnsafe(text, ...values) };
    },
  };
}
