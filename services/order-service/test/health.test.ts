import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { buildApp } from '../src/app.ts';

const lab = useLab();

describe('GET /health', () => {
  it('answers 200 when PostgreSQL and Kafka answer through the proxies', async () => {
    const app = lab.leaks.trackCloseable('order-service app', await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url }), 'close');
    const res = await app.fastify.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', checks: { database: 'ok', kafka: 'ok' }, via: 'toxiproxy' });
    await app.close();
  });

  it('answers 503 naming the database when the `postgres` proxy is down', async () => {
    const app = lab.leaks.trackCloseable('order-service app', await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url }), 'close');
    await lab.toxics.setEnabled('postgres', false);
    const res = await app.fastify.inject({ method: 'GET', url: '/health' });
    await lab.toxics.setEnabled('postgres', true);
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.database).toMatch(/^error: /);
    expect(res.json().checks.kafka).toBe('ok');
    await app.close();
  });
});
