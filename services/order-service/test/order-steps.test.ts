/**
 * POST /api/v1/orders/:id/status: an order's later steps (paid, then shipped), each one transaction that locks the
 * order row, bumps its version and writes the step's event to the outbox with its sequence — against the real
 * PostgreSQL. Steps out of turn are refused with 409 and write nothing; two concurrent requests for the same step
 * cannot both win (the row lock), so an order's stream never has two events with one sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { buildApp, type App } from '../src/app.ts';

const lab = useLab();
let app: App;
let closed = false;

beforeAll(async () => {
  const topic = await lab.topic('orders', 3);
  app = await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url, topic });
  lab.leaks.track('order-service app', () => closed);
});
afterAll(async () => {
  await app.close();
  closed = true;
});

const newOrder = async (): Promise<string> => {
  const res = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', payload: { customerId: 'alice', items: [{ sku: 'BOOK-001', qty: 1, priceCents: 100 }], strategy: 'outbox' } });
  expect(res.statusCode).toBe(201);
  return res.json().order.id as string;
};
const step = (id: string, status: unknown) => app.fastify.inject({ method: 'POST', url: `/api/v1/orders/${id}/status`, payload: { status } });
const outboxOf = async (id: string) =>
  (await lab.pool().query(`select type, headers->>'seq' as seq from outbox where aggregateid = $1 order by position`, [id])).rows.map((r) => [r.type, r.seq]);

describe('POST /api/v1/orders/:id/status', () => {
  it('created → paid → shipped: each step bumps the version and outboxes its event with its sequence (1, 2, 3)', async () => {
    const id = await newOrder();
    const paid = await step(id, 'paid');
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({ order: { id, status: 'paid', version: 2 }, eventType: 'OrderPaid', sequence: 2, outboxed: true });
    const shipped = await step(id, 'shipped');
    expect(shipped.json()).toMatchObject({ order: { status: 'shipped', version: 3 }, eventType: 'OrderShipped', sequence: 3 });
    expect((await app.fastify.inject({ method: 'GET', url: `/api/v1/orders/${id}` })).json()).toMatchObject({ status: 'shipped', version: 3 });
    expect(await outboxOf(id)).toEqual([['OrderCreated', '1'], ['OrderPaid', '2'], ['OrderShipped', '3']]);
  });

  it('a step out of turn is 409 DW_ORDER_STATE_CONFLICT with the status now, and writes nothing; an unknown order is 404; a bad status 400', async () => {
    const id = await newOrder();
    const early = await step(id, 'shipped');
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'DW_ORDER_STATE_CONFLICT', details: { status: 'created', requested: 'shipped' }, hint: expect.stringMatching(/created → paid → shipped/) });
    expect((await step(id, 'paid')).statusCode).toBe(200);
    const again = await step(id, 'paid');
    expect(again.statusCode).toBe(409);
    expect(again.json().hint).toMatch(/already paid/);
    expect(await outboxOf(id)).toEqual([['OrderCreated', '1'], ['OrderPaid', '2']]);
    expect((await step('00000000-0000-4000-8000-000000000000', 'paid')).json()).toMatchObject({ code: 'DW_NOT_FOUND' });
    const bad = await step(id, 'cancelled');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'DW_VALIDATION', message: expect.stringMatching(/status/) });
  });

  it('two concurrent requests for the same step: exactly one wins, the other is 409 — one OrderPaid, never two with sequence 2', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, newOrder));
    for (const id of ids) {
      const answers = await Promise.all([step(id, 'paid'), step(id, 'paid')]);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
      expect(await outboxOf(id)).toEqual([['OrderCreated', '1'], ['OrderPaid', '2']]);
    }
  });
});
