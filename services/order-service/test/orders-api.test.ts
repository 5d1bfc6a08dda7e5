import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { decodeOrderCreated, headerString } from '@dual-write/schema';
import { useLab } from '@dual-write/testkit';
import { buildApp, type App } from '../src/app.ts';
import { faultScenarios } from '../src/lab/index.ts';

const lab = useLab();
let app: App;
let topic: string;

const validOrder = { customerId: 'alice', items: [{ sku: 'BOOK-001', qty: 2, priceCents: 4599 }, { sku: 'MUG-001', qty: 1, priceCents: 1299 }] };

beforeAll(async () => {
  topic = await lab.topic('orders', 3);
  app = await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url, topic });
  lab.leaks.track('order-service app', () => closed);
});
let closed = false;
afterAll(async () => {
  await app.close();
  closed = true;
});

async function orderCount(): Promise<number> {
  const pool = lab.pool();
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from orders');
  await pool.end();
  return rows[0]!.n;
}

describe('POST /api/v1/orders (naive)', () => {
  it('writes the order, computes the total on the server and publishes OrderCreated keyed by order id', async () => {
    const res = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', payload: validOrder });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.order.totalCents).toBe(2 * 4599 + 1299);
    expect(body.published).toBe(true);
    expect(body.kafka.topic).toBe(topic);

    const get = await app.fastify.inject({ method: 'GET', url: `/api/v1/orders/${body.order.id}` });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toMatchObject({ id: body.order.id, customerId: 'alice', totalCents: 10497, strategy: 'naive' });

    const consumer = lab.kafka().consumer({ groupId: `g-${lab.id}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const msg = await new Promise<{ key: string; id: string; orderId: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const e = decodeOrderCreated(message);
          if (e.orderId === body.order.id) resolve({ key: String(message.key), id: headerString(message, 'id')!, orderId: e.orderId });
        },
      });
    });
    await consumer.disconnect();
    expect(msg).toEqual({ key: body.order.id, id: body.eventId, orderId: body.order.id });
  });

  it.each([
    ['a missing field', { items: validOrder.items }, /body\.customerId must have required property/],
    ['a wrong type', { ...validOrder, items: [{ sku: 'X', qty: 'two', priceCents: 1 }] }, /body\.items\.0\.qty must be integer/],
    ['a zero quantity', { ...validOrder, items: [{ sku: 'X', qty: 0, priceCents: 1 }] }, /body\.items\.0\.qty must be >= 1/],
    ['no items', { ...validOrder, items: [] }, /body\.items must NOT have fewer than 1 items/],
    ['an unknown field', { ...validOrder, admin: true }, /must NOT have additional properties \(admin\)/],
    ['an SQL-looking customer id', { ...validOrder, customerId: "x'; drop table orders; --" }, /body\.customerId must match pattern/],
    ['an unknown strategy', { ...validOrder, strategy: 'yolo' }, /body\.strategy must be equal to one of the allowed values/],
    // The benchmark's reference (bench/src/lib/db-only-orders.ts, its own route there): not a strategy of the service.
    ['strategy db-only', { ...validOrder, strategy: 'db-only' }, /body\.strategy must be equal to one of the allowed values/],
  ])('rejects %s with 400 naming the field, and writes nothing', async (_name, payload, message) => {
    const before = await orderCount();
    const res = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'DW_VALIDATION', message: expect.stringMatching(message), hint: expect.any(String) });
    expect(await orderCount()).toBe(before);
  });

  it('rejects malformed JSON and an oversized body with a clear 4xx', async () => {
    const bad = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'content-type': 'application/json' }, payload: '{"customerId": ' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('DW_VALIDATION');
    const huge = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ customerId: 'a', items: [], pad: 'x'.repeat(70_000) }) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: 'DW_BODY_TOO_LARGE', hint: expect.stringMatching(/smaller body/) });
  });
});

describe('GET /api/v1/orders/:id', () => {
  it('answers 404 with a code for an unknown order, 400 for a malformed id', async () => {
    const missing = await app.fastify.inject({ method: 'GET', url: '/api/v1/orders/6f1c1f9e-0000-4000-8000-000000000000' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('DW_NOT_FOUND');
    const malformed = await app.fastify.inject({ method: 'GET', url: '/api/v1/orders/not-a-uuid' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/params\.id must match format "uuid"/);
  });
});

describe('unrelated endpoints', () => {
  it('logs the demo user in and refuses a wrong password', async () => {
    const ok = await app.fastify.inject({ method: 'POST', url: '/api/v1/login', payload: { email: 'demo@example.com', password: 'demo-password' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().token).toMatch(/^[0-9a-f]{32}$/);
    const wrong = await app.fastify.inject({ method: 'POST', url: '/api/v1/login', payload: { email: 'demo@example.com', password: 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'DW_UNAUTHORIZED', message: 'Wrong email or password.', hint: expect.any(String) });
  });

  it('searches products by name or sku, treating % and _ literally', async () => {
    const res = await app.fastify.inject({ method: 'GET', url: '/api/v1/products?q=database' });
    expect(res.json().products.map((p: { sku: string }) => p.sku)).toEqual(['BOOK-002']);
    const pct = await app.fastify.inject({ method: 'GET', url: '/api/v1/products?q=%25' });
    expect(pct.json().products).toEqual([]);
  });
});

describe('GET /api/v1/bad-scenario (the lab\'s plugin, src/lab/)', () => {
  // The app as the lab's entries build it (src/main.ts, services/lab): the core plus the fault-scenarios plugin.
  let labApp: App;
  beforeAll(async () => {
    labApp = lab.leaks.trackCloseable('order-service app with the lab plugin', await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url, topic, plugins: [faultScenarios()] }), 'close');
  });
  afterAll(async () => {
    await labApp.close();
  });

  it('is refused with 403 and a clear message while fault injection is off (the default)', async () => {
    expect(resolveConfig({}, {}).orderService.faultInjection).toBe(false);
    expect(lab.config.orderService.faultInjection).toBe(false);
    const res = await labApp.fastify.inject({ method: 'GET', url: '/api/v1/bad-scenario?kind=db' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'DW_FAULT_INJECTION_DISABLED', hint: expect.stringMatching(/FAULT_INJECTION=true/) });
  });

  it('is not part of the production app: without the plugin the route does not exist', async () => {
    const res = await app.fastify.inject({ method: 'GET', url: '/api/v1/bad-scenario?kind=db' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('DW_NOT_FOUND');
  });

  it('serves an OpenAPI document listing every route, and the Postman collection covers each one', async () => {
    const pathsOf = async (a: App) => {
      const res = await a.fastify.inject({ method: 'GET', url: '/openapi.json' });
      expect(res.statusCode).toBe(200);
      return Object.keys(res.json().paths).sort();
    };
    expect(await pathsOf(app)).toEqual(['/api/v1/login', '/api/v1/orders', '/api/v1/orders/{id}', '/api/v1/orders/{id}/status', '/api/v1/products', '/health']);
    const paths = await pathsOf(labApp);
    expect(paths).toEqual(['/api/v1/bad-scenario', '/api/v1/login', '/api/v1/orders', '/api/v1/orders/{id}', '/api/v1/orders/{id}/status', '/api/v1/products', '/health']);
    const collection = JSON.parse(readFileSync(path.join(lab.config.repoRoot, 'docs', 'postman_collection.json'), 'utf8'));
    const requests: string[] = [];
    const walk = (items: { item?: unknown[]; request?: { url: { raw: string } } }[]) => {
      for (const i of items) {
        if (i.item) walk(i.item as never);
        if (i.request) requests.push(new URL(i.request.url.raw.replace('{{baseUrl}}', 'http://x')).pathname.replace('%7B%7BorderId%7D%7D', '{id}'));
      }
    };
    walk(collection.item);
    expect(paths.filter((p) => p !== '/openapi.json' && !requests.includes(p))).toEqual([]);
  });
});
