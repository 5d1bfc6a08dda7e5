/**
 * The benchmark's DB-only reference (src/lib/db-only-orders.ts), mounted on the order service's app the way
 * the api-throughput section mounts it: POST /bench/orders commits the order (strategy db-only) and nothing is
 * published or outboxed. The service's own POST /api/v1/orders, on the same app, still refuses db-only (400).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '@dual-write/order-service';
import { useLab } from '@dual-write/testkit';
import { DB_ONLY_PATH, dbOnlyOrders } from '../src/lib/db-only-orders.ts';

const lab = useLab();
const validOrder = { customerId: 'alice', items: [{ sku: 'BOOK-001', qty: 2, priceCents: 4599 }, { sku: 'MUG-001', qty: 1, priceCents: 1299 }] };
let app: App;

beforeAll(async () => {
  const topic = await lab.topic('orders', 1);
  app = lab.leaks.trackCloseable('order-service app (bench)', await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url, topic, plugins: [dbOnlyOrders] }), 'close');
});
afterAll(async () => {
  await app.close();
});

async function counts(): Promise<{ orders: number; outbox: number }> {
  const pool = lab.pool();
  try {
    const { rows } = await pool.query<{ orders: number; outbox: number }>('select (select count(*)::int from orders) as orders, (select count(*)::int from outbox) as outbox');
    return rows[0]!;
  } finally {
    await pool.end();
  }
}

describe(`POST ${DB_ONLY_PATH} (the benchmark's DB-only reference)`, () => {
  it('commits the order with strategy db-only; nothing is published or outboxed', async () => {
    const before = await counts();
    const res = await app.fastify.inject({ method: 'POST', url: DB_ONLY_PATH, payload: { ...validOrder, strategy: 'db-only' } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ published: false, outboxed: false, kafka: null, order: { strategy: 'db-only', totalCents: 2 * 4599 + 1299, status: 'created' } });
    const pool = lab.pool();
    const { rows } = await pool.query<{ strategy: string }>('select strategy from orders where id = $1', [res.json().order.id]);
    await pool.end();
    expect(rows).toEqual([{ strategy: 'db-only' }]);
    expect(await counts()).toEqual({ orders: before.orders + 1, outbox: before.outbox });
  });

  it('validates the body like POST /api/v1/orders, and accepts no other strategy', async () => {
    const before = await counts();
    const bad = await app.fastify.inject({ method: 'POST', url: DB_ONLY_PATH, payload: { ...validOrder, items: [] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'DW_VALIDATION', message: expect.stringMatching(/body\.items must NOT have fewer than 1 items/) });
    const other = await app.fastify.inject({ method: 'POST', url: DB_ONLY_PATH, payload: { ...validOrder, strategy: 'outbox' } });
    expect(other.statusCode).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('is the benchmark\'s alone: the service\'s POST /api/v1/orders refuses db-only, and /openapi.json does not list the route', async () => {
    const before = await counts();
    const res = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', payload: { ...validOrder, strategy: 'db-only' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'DW_VALIDATION', message: expect.stringMatching(/body\.strategy must be equal to one of the allowed values/) });
    expect(await counts()).toEqual(before);
    const openapi = await app.fastify.inject({ method: 'GET', url: '/openapi.json' });
    expect(Object.keys(openapi.json().paths)).not.toContain(DB_ONLY_PATH);
  });
});
