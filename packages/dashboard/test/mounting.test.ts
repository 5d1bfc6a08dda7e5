/**
 * Mounting and the API's contract without a browser: the Fastify plugin (prefix, raw handler, body left for the
 * handler, fastify.close() not held up by an open live stream), options validated with coded errors, the
 * confirmation a write needs, and keyset pagination of the dead letters.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { migrateOutbox } from '@dual-write/outbox';
import { createDashboard, DashboardError, fastifyDashboard } from '../src/index.ts';
import { serve } from './helpers.ts';

const lab = useLab({ initSql: (c) => migrateOutbox(c).then(() => undefined) });
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

/** The first SSE event of a stream, and a promise that resolves when the server ends the stream. */
function openStream(url: string): Promise<{ first: string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let buf = '';
      const ended = new Promise<void>((r) => res.on('end', () => r()).on('close', () => r()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        const m = /event: summary\ndata: (.*)\n\n/.exec(buf);
        if (m && buf !== '') {
          resolve({ first: m[1]!, ended });
          buf = '';
        }
      });
    }).on('error', reject);
  });
}

describe('options', () => {
  it('are validated once, with a code, the option and a hint', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'database'],
      [{ database: 'mysql://x' }, 'database'],
      [{ database: 'postgres://x/y', table: 'Bad-Name' }, 'table'],
      [{ database: 'postgres://x/y', relays: ['not a url'] }, 'relays[0]'],
      [{ database: 'postgres://x/y', refreshMs: 5 }, 'refreshMs'],
      [{ database: 'postgres://x/y', authorize: true }, 'authorize'],
      [{ database: 'postgres://x/y', panels: [{ id: 'a', title: 'A', actions: [{ id: 'x', label: 'X' }] }] }, 'panels[0].actions[0].run'],
      [{ database: 'postgres://x/y', colour: 'red' }, 'colour'],
    ];
    for (const [opts, option] of cases) {
      let err: unknown;
      try {
        createDashboard(opts as never);
      } catch (e) {
        err = e;
      }
      expect(err, option).toBeInstanceOf(DashboardError);
      expect((err as DashboardError).code).toBe('DW_DASHBOARD_INVALID_OPTION');
      expect((err as DashboardError).message).toContain(option.replace(/\[.*$/, ''));
      expect((err as DashboardError).hint.length).toBeGreaterThan(5);
    }
  });
});

describe('mounted in Fastify', () => {
  it('serves the page and API under the prefix, and fastify.close() ends the live stream instead of waiting on it', async () => {
    const fastify = Fastify();
    fastify.get('/other', async () => ({ other: true }));
    await fastify.register(fastifyDashboard, { prefix: '/dashboard', database: lab.db.url, refreshMs: 200 });
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(fastify.server.address() as import('node:net').AddressInfo).port}`;
    let closed = false;
    closers.push(async () => {
      if (!closed) await fastify.close();
    });

    const page = await fetch(`${base}/dashboard/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="main">');
    expect((await fetch(`${base}/dashboard`, { redirect: 'manual' })).headers.get('location')).toBe('/dashboard/');
    expect(await (await fetch(`${base}/other`)).json()).toEqual({ other: true });
    const summary = (await (await fetch(`${base}/dashboard/api/summary`)).json()) as { backlog: { rows: number; exact: boolean } };
    expect(summary.backlog).toMatchObject({ rows: 0, exact: true });

    // A write's body reaches the handler (Fastify's parsers are bypassed in the plugin's scope): a wrong confirm is refused.
    const id = randomUUID();
    const refused = await fetch(`${base}/dashboard/api/dead-letters/${id}/discard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirm: 'yes' }) });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'DW_DASHBOARD_CONFIRMATION_REQUIRED' });
    const missing = await fetch(`${base}/dashboard/api/dead-letters/${id}/discard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirm: id }) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'DW_OUTBOX_DEAD_LETTER_NOT_FOUND' });

    const stream = await openStream(`${base}/dashboard/api/events`);
    expect(JSON.parse(stream.first)).toMatchObject({ backlog: { rows: 0 } });
    // close() resolves (it would hang on the open stream without the plugin's preClose hook), and the stream ends.
    await fastify.close();
    closed = true;
    await stream.ended;
  });
});

describe('the JSON API', () => {
  it('paginates dead letters by keyset, searches them, and refuses a malformed cursor', async () => {
    const pool = lab.pool({ max: 2 });
    await pool.query(`
      insert into outbox_dead_letters (id, aggregatetype, aggregateid, type, payload, headers, created_at, position, transaction_id, attempts, error, failed_at)
      select gen_random_uuid(), 'order', 'o-' || i, 'OrderCreated', jsonb_build_object('i', i), '{}', now(), i, pg_current_xact_id(), 5,
             case when i % 2 = 0 then 'MESSAGE_TOO_LARGE' else 'UNKNOWN_TOPIC_OR_PARTITION' end, now() - (i || ' s')::interval
      from generate_series(1, 7) i`);
    const srv = await serve(createDashboard({ database: pool, basePath: '/d' }));
    closers.push(() => srv.close());
    const get = async (path: string) => {
      const r = await fetch(`${srv.url}api/${path}`);
      return { status: r.status, body: (await r.json()) as { items: { aggregateid: string }[]; next: string | null; code?: string } };
    };
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const { body } = await get(`dead-letters?limit=3${next ? `&after=${next}` : ''}`);
      seen.push(...body.items.map((i) => i.aggregateid));
      next = body.next;
    } while (next);
    expect(seen).toEqual(['o-7', 'o-6', 'o-5', 'o-4', 'o-3', 'o-2', 'o-1']); // oldest failure first, each once
    expect((await get('dead-letters?q=too_large')).body.items.map((i) => i.aggregateid)).toEqual(['o-6', 'o-4', 'o-2']);
    expect(await get('dead-letters?after=garbage')).toMatchObject({ status: 400, body: { code: 'DW_DASHBOARD_BAD_REQUEST' } });
    const parked = (await get('parked?limit=5')).body;
    expect(parked.items).toHaveLength(5);
    expect(parked.items[0]).toMatchObject({ aggregatetype: 'order', aggregateid: 'o-1', reason: 'dead-letter' });
    expect((await get(`parked?limit=5&after=${parked.next}`)).body.items.map((i) => i.aggregateid)).toEqual(['o-6', 'o-7']);
  });
});

describe('mounted in Express', () => {
  it('serves under app.use(path) with express.json() in front, and hands other paths to next()', async () => {
    const { default: express } = await import('express');
    const dashboard = createDashboard({ database: lab.db.url, basePath: '/ops/outbox', readOnly: true });
    const app = express();
    app.use(express.json());
    app.use('/ops/outbox', dashboard.handler);
    app.get('/ops/other', (_req, res) => {
      res.json({ other: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    closers.push(async () => {
      await dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    expect((await fetch(`${base}/ops/outbox`, { redirect: 'manual' })).headers.get('location')).toBe('/ops/outbox/');
    expect(await (await fetch(`${base}/ops/outbox/`)).text()).toContain('<main id="main">');
    expect(await (await fetch(`${base}/ops/outbox/api/config`)).json()).toMatchObject({ readOnly: true, outbox: 'public.outbox' });
    expect(await (await fetch(`${base}/ops/other`)).json()).toEqual({ other: true });
    // The body express.json() already parsed is used: the read-only refusal comes after it, with its code.
    const id = randomUUID();
    const r = await fetch(`${base}/ops/outbox/api/dead-letters/${id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirm: id }) });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ code: 'DW_DASHBOARD_READ_ONLY' });
  });
});
