/**
 * Endpoints unrelated to orders that still need the database: the collateral damage of pool exhaustion.
 * POST /api/v1/login and GET /api/v1/products?q=
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import sequelizePkg from 'sequelize';
import { DwError } from '@dual-write/config';
import { verifyPassword } from '@dual-write/schema';
import type { ServiceContext } from '../service-context.ts';
import { BODY_ERRORS, errorResponses } from './error-schema.ts';

const { QueryTypes } = sequelizePkg;

export function registerUnrelatedRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Body: { email: string; password: string } }>(
    '/api/v1/login',
    {
      schema: {
        summary: 'Log in (demo user: demo@example.com / demo-password)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'password'],
          properties: { email: { type: 'string', minLength: 3, maxLength: 200 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
          // The demo user: Schemathesis' examples phase logs in with it, so the 200 is checked too.
          examples: [{ email: 'demo@example.com', password: 'demo-password' }],
        },
        response: {
          200: {
            description: 'Logged in.',
            type: 'object',
            required: ['token', 'email'],
            properties: { token: { type: 'string', pattern: '^[0-9a-f]{32}$' }, email: { type: 'string' } },
          },
          ...errorResponses(...BODY_ERRORS, 401, 503),
        },
      },
    },
    async (request, reply) => {
      const rows = await ctx.db.sequelize.query<{ password_hash: string }>('select password_hash from users where email = :email', {
        replacements: { email: request.body.email },
        type: QueryTypes.SELECT,
      });
      const hash = rows[0]?.password_hash;
      if (!hash || !verifyPassword(request.body.password, hash)) {
        return reply.code(401).send(new DwError('DW_UNAUTHORIZED', 'Wrong email or password.', 'The demo user is demo@example.com / demo-password.').toJSON());
      }
      return reply.send({ token: randomBytes(16).toString('hex'), email: request.body.email });
    },
  );

  app.get<{ Querystring: { q?: string } }>(
    '/api/v1/products',
    {
      schema: {
        summary: 'Search products by name or sku',
        querystring: { type: 'object', additionalProperties: false, properties: { q: { type: 'string', maxLength: 100, examples: ['book'] } } },
        response: {
          200: {
            description: 'At most 50 products whose name or sku contains q (case-insensitive), by sku.',
            type: 'object',
            required: ['products'],
            properties: {
              products: {
                type: 'array',
                maxItems: 50,
                items: { type: 'object', required: ['sku', 'name', 'priceCents'], properties: { sku: { type: 'string' }, name: { type: 'string' }, priceCents: { type: 'integer' } } },
              },
            },
          },
          ...errorResponses(400, 503),
        },
      },
    },
    async (request, reply) => {
      const q = `%${(request.query.q ?? '').replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await ctx.db.sequelize.query<{ sku: string; name: string; price_cents: number }>(
        'select sku, name, price_cents from products where name ilike :q or sku ilike :q order by sku limit 50',
        { replacements: { q }, type: QueryTypes.SELECT },
      );
      return reply.send({ products: rows.map((r) => ({ sku: r.sku, name: r.name, priceCents: r.price_cents })) });
    },
  );
}
