/** The order service's HTTP app. Built by a function so tests can `inject()` requests without a socket. */
import Fastify, { type FastifyInstance } from 'fastify';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import type { LabConfig } from '@dual-write/config';

export interface AppDeps {
  config: LabConfig;
  /** Defaults to the app-facing URL (through the `postgres` proxy). */
  databaseUrl?: string;
  logger?: boolean;
}

export interface App {
  fastify: FastifyInstance;
  close(): Promise<void>;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const pool = new pg.Pool({ connectionString: deps.databaseUrl ?? config.database.appUrl, max: 5, connectionTimeoutMillis: 3000 });
  pool.on('error', () => {});
  const kafka = new Kafka({ clientId: 'order-service', brokers: config.kafka.appBrokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 0 } });
  const admin: Admin = kafka.admin();

  const fastify = Fastify({ logger: deps.logger ?? false });

  fastify.get('/health', async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await pool.query('select 1');
      checks.database = 'ok';
    } catch (err) {
      checks.database = `error: ${(err as Error).message}`;
    }
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      checks.kafka = cluster.brokers.length > 0 ? 'ok' : 'error: no brokers';
    } catch (err) {
      checks.kafka = `error: ${(err as Error).message}`;
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks, via: config.viaProxy ? 'toxiproxy' : 'direct' });
  });

  return {
    fastify,
    async close() {
      await fastify.close();
      await admin.disconnect().catch(() => {});
      await pool.end();
    },
  };
}
