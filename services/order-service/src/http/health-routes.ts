/** GET /health: the database (through the pool) and Kafka (a metadata request) both answer. */
import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import type { ServiceContext } from '../service-context.ts';

/** The body of both answers (200 and 503): each check is `ok` or `error: <why>`. */
const healthSchema = {
  type: 'object',
  required: ['status', 'checks', 'via'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    checks: { type: 'object', required: ['database', 'kafka'], properties: { database: { type: 'string' }, kafka: { type: 'string' } } },
    via: { type: 'string', enum: ['toxiproxy', 'direct'] },
  },
} as const;

export function registerHealthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const admin = new Kafka({ clientId: 'order-service-health', brokers: ctx.config.kafka.appBrokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
  app.addHook('onClose', async () => {
    await admin.disconnect().catch(() => {});
  });
  app.get('/health', { schema: { summary: 'Liveness of the database and Kafka connections', response: { 200: { ...healthSchema, description: 'The database and Kafka both answer.' }, 503: { ...healthSchema, description: 'The database or Kafka does not answer: `checks` says which, and why.' } } } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await ctx.db.sequelize.query('select 1');
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
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks, via: ctx.config.viaProxy ? 'toxiproxy' : 'direct' });
  });
}
