/**
 * node-postgres adapter. Pass the client that runs your transaction (`await pool.connect()`, then
 * `BEGIN` … `COMMIT` on that client): an executor over a Pool runs each statement on whichever
 * connection is free, i.e. outside your transaction.
 */
import type { SqlExecutor } from '../types.ts';

const PG_TARGET = Symbol.for('@dual-write/outbox.pg-target');

/** What pgExecutor uses of a pg `Client`, pool client or `Pool`; structural, so the outbox's types need no pg. */
export interface PgClientOrPool {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** What migrateOutbox uses of a pg `Pool`: check out one connection and give it back. */
export interface PgPool extends PgClientOrPool {
  readonly totalCount: number;
  connect(): Promise<PgClientOrPool & { release(): void }>;
}

export interface PgExecutor extends SqlExecutor {
  readonly [PG_TARGET]: PgClientOrPool;
}

export function pgExecutor(db: PgClientOrPool): PgExecutor {
  return {
    query: async (text, values) => {
      const r = await db.query(text, values);
      return { rows: r.rows, rowCount: r.rowCount };
    },
    [PG_TARGET]: db,
  };
}

/** The pg.Pool behind an executor (or the executor itself when it is a Pool), so a caller can check out one connection. */
export function poolBehind(executor: SqlExecutor): PgPool | undefined {
  const target = (executor as Partial<PgExecutor>)[PG_TARGET] ?? executor;
  const t = target as Partial<PgPool>;
  return typeof t.connect === 'function' && typeof t.totalCount === 'number' ? (target as PgPool) : undefined;
}
