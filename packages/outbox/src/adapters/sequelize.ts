/**
 * Sequelize adapter: raw statements on the given transaction's connection, parameters bound (`$1…`), never
 * spliced into the SQL. Sequelize is typed structurally and never imported, so the outbox does not depend on it.
 *
 *   await sequelize.transaction(async (t) => {
 *     await Order.create(order, { transaction: t });
 *     await enqueue(sequelizeExecutor(sequelize, t), { aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload });
 *   });
 */
import { OutboxError } from '../errors.ts';
import type { SqlExecutor } from '../types.ts';

/** What the adapter uses of a `Sequelize` instance; structural, so the outbox's types need no Sequelize. */
export interface SequelizeInstance {
  getDialect(): string;
  query(sql: string, options: { transaction?: unknown; raw?: boolean; type?: string; bind?: unknown }): Promise<unknown>;
}

/** A Sequelize `Transaction`: the adapter only hands it back to `sequelize.query()`. */
export interface SequelizeTransaction {
  commit(): Promise<unknown>;
  rollback(): Promise<unknown>;
}

export function sequelizeExecutor(sequelize: SequelizeInstance, transaction: SequelizeTransaction): SqlExecutor {
  if (!transaction) {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', 'sequelizeExecutor() needs the transaction your change runs in.', 'Pass the transaction: sequelizeExecutor(sequelize, t) inside sequelize.transaction(async (t) => …).');
  }
  if (sequelize.getDialect() !== 'postgres') {
    throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `The outbox needs PostgreSQL; this Sequelize instance uses ${sequelize.getDialect()}.`, 'Use a Sequelize instance with dialect "postgres".');
  }
  return {
    async query(text, values) {
      // type RAW: Sequelize returns [rows, pg result] and does no model mapping.
      const [rows, result] = (await sequelize.query(text, {
        transaction,
        raw: true,
        type: 'RAW',
        ...(values && values.length ? { bind: [...values] } : {}),
      })) as [unknown, unknown];
      const rowCount = (result as { rowCount?: number | null } | undefined)?.rowCount ?? (Array.isArray(rows) ? rows.length : null);
      return { rows: Array.isArray(rows) ? rows : [], rowCount };
    },
  };
}
