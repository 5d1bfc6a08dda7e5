/**
 * The order service's HTTP app, built by a function so tests can `inject()` requests or listen on port 0.
 * On start it applies the schema migrations (safe when several instances start at once) and the demo seed.
 *
 * The core is the production path only: health, orders, login and products. Anything else (the lab's fault
 * scenarios, src/lab/; the benchmark's DB-only route, bench/) is mounted by whoever builds the app, through
 * `plugins` — this file imports none of it.
 */
import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify';
import swagger from '@fastify/swagger';
import pg from 'pg';
import type { AddressInfo } from 'node:net';
import type { LabConfig } from '@dual-write/config';
import { migrateLab, seedDemoData } from '@dual-write/schema';
import { createDatabase } from './db/database.ts';
import { installErrorHandler } from './http/errors.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { registerOrderRoutes } from './http/order-routes.ts';
import { registerUnrelatedRoutes } from './http/unrelated-routes.ts';
import { bodyWithoutCoercion } from './http/validation.ts';
import { createNaivePublisher } from './kafka/naive-publisher.ts';
import { nameServerSpansAfterRoutes } from './route-spans.ts';
import type { ServiceContext } from './service-context.ts';

export interface AppOptions {
  config: LabConfig;
  /** Where the service's SQL goes; default config.database.appUrl (through the `postgres` proxy). */
  databaseUrl?: string;
  /** The same database reached directly, for migrations (and plugins that read it); default config.database.url. */
  directDatabaseUrl?: string;
  /** Default config.topics.orders.name. */
  topic?: string;
  logger?: boolean;
  /**
   * Fastify plugins mounted after the core routes, each in its own encapsulated scope (see AppPlugin): how the
   * lab adds GET /api/v1/bad-scenario (src/lab/) and the benchmark its DB-only route (bench/). Default none.
   */
  plugins?: readonly AppPlugin[];
  /**
   * `onRequest` hooks at the app's root, so they run for every route (a plugin's own hooks only see its routes):
   * e.g. the lab's hostage-connection detector, which makes each request its own unit of work. Default none.
   */
  onRequest?: readonly onRequestHookHandler[];
}

/** What a plugin given to buildApp({ plugins }) gets besides its Fastify scope. */
export interface AppPluginContext {
  /** The service's settings, database and Kafka publisher (what the core routes share). */
  context: ServiceContext;
  /** The database the service's SQL goes to (through the `postgres` proxy unless told otherwise). */
  databaseUrl: string;
  /** The same database reached directly. */
  directDatabaseUrl: string;
  topic: string;
  /** Base URL once listening. */
  url(): string;
}

/**
 * A plugin of the app: called with its own encapsulated Fastify scope, registered after the core routes. Its
 * routes get the app's error handler (`{ code, message, hint }`) and are listed in /openapi.json unless hidden;
 * whatever it opens it closes in an `onClose` hook, which App.close() runs.
 */
export type AppPlugin = (fastify: FastifyInstance, app: AppPluginContext) => void | Promise<void>;

export interface App {
  fastify: FastifyInstance;
  context: ServiceContext;
  /** Base URL once listening. */
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
    // JSON bodies are validated without type coercion (`"qty": "2"` is a 400, not 2); see http/validation.ts.
    schemaController: bodyWithoutCoercion(),
  });
  for (const hook of opts.onRequest ?? []) fastify.addHook('onRequest', hook);
  const db = createDatabase(databaseUrl, { max: config.orderService.poolMax, acquireTimeoutMs: config.orderService.poolAcquireTimeoutMs });
  const publisher = createNaivePublisher({ brokers: config.kafka.appBrokers, topic });
  const context: ServiceContext = { config, db, publisher, log: fastify.log };

  const url = () => {
    const addr = fastify.server.address() as AddressInfo | null;
    if (!addr) throw new Error('the service is not listening');
    return `http://127.0.0.1:${addr.port}`;
  };

  await fastify.register(swagger, {
    openapi: {
      info: { title: 'dual-write-lab order service', version: '0.1.0', description: 'Creates orders in PostgreSQL and publishes OrderCreated to Kafka; reproduces the dual-write failures on demand.' },
    },
  });
  installErrorHandler(fastify);
  nameServerSpansAfterRoutes(fastify);
  registerHealthRoutes(fastify, context);
  registerOrderRoutes(fastify, context);
  registerUnrelatedRoutes(fastify, context);
  const pluginContext: AppPluginContext = { context, databaseUrl, directDatabaseUrl, topic, url };
  for (const plugin of opts.plugins ?? []) await fastify.register(async (scope) => plugin(scope, pluginContext));
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
    },
  };
}
