/**
 * TypeORM adapter: statements run on the query runner of the transaction's EntityManager
 * (`dataSource.transaction(async (manager) => …)`), with PostgreSQL's `$1…` parameters as they are.
 *
 *   await dataSource.transaction(async (manager) => {
 *     await manager.insert(Order, order);
 *     await enqueue(typeormExecutor(manager), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import type { EntityManager } from 'typeorm';
import type { SqlExecutor } from '../types.ts';
import { requireTransaction } from './require-transaction.ts';

export function typeormExecutor(manager: EntityManager): SqlExecutor {
  const runner = manager?.queryRunner;
  requireTransaction('typeormExecutor', manager, runner?.isTransactionActive === true, 'typeormExecutor(manager) with the manager of dataSource.transaction(async (manager) => …)');
  return {
    async query(text, values) {
      // structured: rows and the affected count, whatever the statement
      const r = await runner!.query(text, values ? [...values] : [], true);
      return { rows: (r.records as unknown[]) ?? [], rowCount: r.affected ?? null };
    },
  };
}
