/**
 * The order service's HTTP app, built by a function so tests can `inject()` requests or listen on port 0.
 * On start it applies the schema migrations (safe when several instances start at once) and the demo seed.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import pg from 'pg';
import type { AddressInfo } from 'node:net';
import type { LabConfig } from '@dual-write/config';
import { ToxicHelper } from '@dual-write/faults';
import { migrateLab, seedDemoData } from '@dual-write/schema';
import { createDatabase } from './db/database.ts';
import { registerBadScenarioRoutes } from './http/bad-scenario-routes.ts';
import { installErrorHandler } from './http/errors.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { registerOrderRoutes } from './http/order-routes.ts';
import { registerUnrelatedRoutes } from './http/unrelated-routes.ts';
import { createNaivePublisher } from './kafka/naive-publisher.ts';
import { Evidence } from './scenarios/evidence.ts';
import type { ScenarioDeps } from './scenarios/scenario-deps.ts';
import type { ServiceContext } from './service-context.ts';

export interface AppOptions {
  config: LabConfig;
  /** Where the service's SQL goes; default config.database.appUrl (through the `postgres` proxy). */
  databaseUrl?: string;
  /** The same database reached directly, for migrations and the scenarios' evidence; default config.database.url. */
  directDatabaseUrl?: string;
  /** Default config.topics.orders.name. */
  topic?: string;
  logger?: boolean;
  /** How long a scenario waits for shipping/billing to act (default 20 s). */
  effectTimeoutMs?: number;
  /**
   * Built for `npm run bench`: POST /api/v1/orders also accepts strategy `db-only` (the same order insert,
   * committed, no messaging), the benchmark's reference. It drops the event on purpose, so it is an option
   * of this function only: no environment variable, CLI flag or default turns it on (default false).
   */
  benchmark?: boolean;
}

export interface App {
  fastify: FastifyInstance;
  context: ServiceContext;
  /** Base URL once listening (the pool scenario sends its burst here). */
  url(): string;
  close(): Promise<void>;
}

export async function migrateDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrateLab(client);
    await seedDemoData(client);
  } finally {
    await client.end();
  }
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config } = opts;
  const databaseUrl = opts.databaseUrl ?? config.database.appUrl;
  const directDatabaseUrl = opts.directDatabaseUrl ?? config.database.url;
  const topic = opts.topic ?? config.topics.orders.name;
  await migrateDatabase(directDatabaseUrl);

  const fastify = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 64 * 1024,
    // close() must not wait for keep-alive sockets (e.g. a consumer's callback aborted mid-request).
    forceCloseConnections: true,
    // Unknown fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  const db = createDatabase(databaseUrl, { max: config.orderService.poolMax, acquireTimeoutMs: config.orderService.poolAcquireTimeoutMs });
  const publisher = createNaivePublisher({ brokers: config.kafka.appBrokers, topic });
  const context: ServiceContext = { config, db, publisher, log: fastify.log };
  const faults = new ToxicHelper(config.toxiproxy.url);
  let evidence: Evidence | undefined;

  const url = () => {
    const addr = fastify.server.address() as AddressInfo | null;
    if (!addr) throw new Error('the service is not listening');
    return `http://127.0.0.1:${addr.port}`;
  };
  const scenarioDeps = (): ScenarioDeps => ({
    config,
    service: context,
    faults,
    evidence: (evidence ??= new Evidence(config, directDatabaseUrl, topic)),
    appDatabaseUrl: databaseUrl,
    topic,
    baseUrl: url,
    effectTimeoutMs: opts.effectTimeoutMs ?? 20_000,
    toxicsLeft: async () => ({ postgres: await faults.list('postgres'), kafka: await faults.list('kafka') }),
  });

  await fastify.register(swagger, {
    openapi: {
      info: { title: 'dual-write-lab order service', version: '0.1.0', description: 'Creates orders in PostgreSQL and publishes OrderCreated to Kafka; reproduces the dual-write failures on demand.' },
    },
  });
  installErrorHandler(fastify);
  registerHealthRoutes(fastify, context);
  registerOrderRoutes(fastify, context, { benchmark: opts.benchmark ?? false });
  registerUnrelatedRoutes(fastify, context);
  registerBadScenarioRoutes(fastify, config.orderService.faultInjection, scenarioDeps);
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger());
  await fastify.ready();

  return {
    fastify,
    context,
    url,
    async close() {
      await fastify.close();
      await publisher.close();
      await db.close();
      await evidence?.close();
    },
  };
}
