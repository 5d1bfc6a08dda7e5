/** Sequelize on `pg`, with a deliberately small pool: the brief's pool errors are Sequelize's ConnectionAcquireTimeoutError. */
import sequelizePkg from 'sequelize';
import type { ModelStatic, Model, Sequelize as SequelizeType } from 'sequelize';

const { Sequelize, DataTypes } = sequelizePkg;

export interface OrderRow {
  id: string;
  customer_id: string;
  status: string;
  /** The sequence of the last event written for the order (1 after OrderCreated). */
  version: number;
  total_cents: string | number;
  items: unknown;
  strategy: string;
  created_at: Date;
}

export interface Database {
  sequelize: SequelizeType;
  Order: ModelStatic<Model<OrderRow>>;
  close(): Promise<void>;
}

export function createDatabase(url: string, pool: { max: number; acquireTimeoutMs: number }): Database {
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    pool: { max: pool.max, min: 0, acquire: pool.acquireTimeoutMs, idle: 10_000, evict: 5_000 },
    dialectOptions: { connectionTimeoutMillis: 5_000, application_name: 'order-service' },
  });
  const Order = sequelize.define<Model<OrderRow>>(
    'Order',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      customer_id: { type: DataTypes.TEXT, allowNull: false },
      status: { type: DataTypes.TEXT, allowNull: false, defaultValue: 'created' },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      total_cents: { type: DataTypes.BIGINT, allowNull: false },
      items: { type: DataTypes.JSONB, allowNull: false },
      strategy: { type: DataTypes.TEXT, allowNull: false },
      created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { tableName: 'orders', timestamps: false },
  );
  return { sequelize, Order, close: () => sequelize.close() };
}

/** Sequelize's error classes, by name (the package is CommonJS; names are stable across its v6 releases). */
export function isAcquireTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'SequelizeConnectionAcquireTimeoutError';
}

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /^Sequelize(Connection|HostNotReachable|ConnectionRefused|ConnectionTimedOut)/.test(err.name) || /Connection terminated|ECONNRESET|EPIPE|connection is closed|Client has encountered a connection error/i.test(err.message);
}
