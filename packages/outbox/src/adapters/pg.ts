/**
 * node-postgres adapter. Pass the client that runs your transaction (`await pool.connect()`, then
 * `BEGIN` … `COMMIT` on that client): an executor over a Pool runs each statement on whichever
 * connection is free, i.e. outside your transaction.
 */
import type pg from 'pg';
import type { SqlExecutor } from '../types.ts';

const PG_TARGET = Symbol.for('@dual-write/outbox.pg-target');

export interface PgExecutor extends SqlExecutor {
  readonly [PG_TARGET]: pg.ClientBase | pg.Pool;
}

export function pgExecutor(db: pg.ClientBase | pg.Pool): PgExecutor {
  return {
    query: async (text, values) => {
      const r = await db.query(text, values as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.rowCount };
    },
    [PG_TARGET]: db,
  };
}

/** The pg.Pool behind an executor (or the executor itself when it is a Pool), so a caller can check out one connection. */
export function poolBehind(executor: SqlExecutor): pg.Pool | undefined {
  const target = (executor as Partial<PgExecutor>)[PG_TARGET] ?? executor;
  const t = target as Partial<pg.Pool>;
  return typeof t.connect === 'function' && typeof t.totalCount === 'number' ? (target as pg.Pool) : undefined;
}
