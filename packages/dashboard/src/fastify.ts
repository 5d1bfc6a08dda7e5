/**
 * The dashboard as a Fastify plugin, on the raw Node handler (no @fastify/express):
 *
 *   await fastify.register(fastifyDashboard, { prefix: '/dashboard', database: pool, authorize });
 *
 * It takes the request over (`reply.hijack()`), keeps the body unread for the handler (a pass-through content
 * parser, in its own encapsulated scope only), and ends its live streams on `preClose`, so `fastify.close()`
 * never waits on an open EventSource.
 */
import type { FastifyInstance, FastifyPluginOptions } from 'fastify';
import { createDashboard, type CreateDashboardOptions } from './dashboard.ts';

export type FastifyDashboardOptions = Omit<CreateDashboardOptions, 'basePath'> & FastifyPluginOptions;

export async function fastifyDashboard(fastify: FastifyInstance, opts: FastifyDashboardOptions): Promise<void> {
  const { prefix: _prefix, logLevel: _logLevel, ...options } = opts as FastifyDashboardOptions & { prefix?: string; logLevel?: string };
  const dashboard = createDashboard({ ...(options as CreateDashboardOptions), basePath: fastify.prefix });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const handle = (request: { raw: import('node:http').IncomingMessage }, reply: { hijack(): void; raw: import('node:http').ServerResponse }) => {
    reply.hijack();
    dashboard.handler(request.raw, reply.raw);
  };
  fastify.all('/', handle);
  fastify.all('/*', handle);
  fastify.addHook('preClose', async () => {
    await dashboard.close();
  });
}
