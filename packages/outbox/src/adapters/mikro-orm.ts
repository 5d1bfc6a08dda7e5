/**
 * MikroORM adapter: statements run on the transaction of the EntityManager you pass
 * (`em.transactional(async (em) => …)`, or an `em` between `em.begin()` and `em.commit()`), through
 * `em.getConnection().execute(…)` with that transaction as its context, so the outbox row commits and rolls back
 * with your change. MikroORM binds Knex-style `?` placeholders (and inlines the values, escaped, into the SQL it
 * sends); the outbox's `$1…` ones are rewritten to them, values in the order they are used.
 *
 *   await orm.em.transactional(async (em) => {
 *     em.persist(order);
 *     await em.flush();
 *     await enqueue(mikroOrmExecutor(em), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 *
 * The transaction is taken when the executor is made: used after that transaction has ended, its statements fail
 * rather than run outside it. Typed structurally, so the outbox compiles without MikroORM installed; proven with
 * @mikro-orm/postgresql 6.6.
 */
import type { SqlExecutor } from '../types.ts';
import { toQuestionMarks } from './knex.ts';
import { requireTransaction } from './require-transaction.ts';

/** What the adapter uses of a MikroORM `EntityManager` (any SQL driver's; PostgreSQL is what the outbox needs). */
export interface MikroOrmEntityManager {
  getTransactionContext(): unknown;
  getConnection(): {
    execute(query: string, params?: unknown[], method?: 'all' | 'get' | 'run', ctx?: unknown): Promise<unknown>;
  };
}

/** What MikroORM's SQL connections return for `method: 'run'`. */
interface RunResult {
  affectedRows?: number;
  rows?: unknown[];
}

export function mikroOrmExecutor(em: MikroOrmEntityManager): SqlExecutor {
  // Read once, here: `getTransactionContext()` is undefined outside a transaction, and an executor that looked it
  // up per statement would quietly run on the pool (autocommit) once the transaction is over.
  const ctx = typeof em?.getTransactionContext === 'function' ? em.getTransactionContext() : undefined;
  requireTransaction('mikroOrmExecutor', em, ctx != null && typeof em?.getConnection === 'function', 'mikroOrmExecutor(em) with the em of em.transactional(async (em) => …)');
  const connection = em.getConnection();
  return {
    async query(text, values) {
      let sql = text;
      let bindings: unknown[] = [];
      // MikroORM only unescapes `\?` when there are values to bind; without any, the statement goes as it is.
      if (values && values.length > 0) {
        ({ sql, bindings } = toQuestionMarks(text, values));
        // MikroORM's formatQuery skips a `?` placeholder right after an escaped `\?` (jsonb's `?$1`): a space keeps it seen.
        sql = sql.replace(/\\\?\?/g, '\\? ?');
      }
      const r = (await connection.execute(sql, bindings, 'run', ctx)) as RunResult;
      return { rows: r.rows ?? [], rowCount: r.affectedRows ?? null };
    },
  };
}
