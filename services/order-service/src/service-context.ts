import type { FastifyBaseLogger } from 'fastify';
import type { LabConfig } from '@dual-write/config';
import type { Database } from './db/database.ts';
import type { Publisher } from './kafka/naive-publisher.ts';

/** What the routes share: settings, the Sequelize database, the Kafka publisher. */
export interface ServiceContext {
  config: LabConfig;
  db: Database;
  publisher: Publisher;
  log: FastifyBaseLogger;
}
