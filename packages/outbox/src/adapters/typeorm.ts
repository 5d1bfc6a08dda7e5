/**
 * TypeORM adapter: statements run on the query runner of the transaction's EntityManager
 * (`dataSource.transaction(async (manager) => …)`), with PostgreSQL's `$1…` parameters as they are.
 *
 *   await dataSource.transaction(async (manager) => {
 *     await manager.insert(Order, order);
 *     await enqueue(typeormExecutor(manager), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter uses of a TypeORM `EntityManager`: its query runner; structural, so the outbox's types need no TypeORM. */
export interface TypeormEntityManager {
  readonly queryRunner?: {
    readonly isTransactionActive: boolean;
    query(query: string, parameters: unknown[] | undefined, useStructuredResult: true): Promise<{ records: unknown[]; affected?: number }>;
  };
}

export function typeormExecutor(manager: TypeormEntityManager): SqlExecutor {
  const runner = manager?.queryRunner;
  requireTransaction('typeormExecutor', manager, runner?.isTransactionActive === true, 'typeormExecutor(manager) with the manager of dataSource.transaction(async (manager) => …)');
  return {
    async query(text, values) {
      // structured: rows and the affected count, whatever the statement
      const r = await runner!.query(text, values ? [...values] : [], true);
      return { rows: r.records ?? [], rowCount: r.affected ?? null };
    },
  };
}
