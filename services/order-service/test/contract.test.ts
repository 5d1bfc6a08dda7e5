/**
 * The API contract: Schemathesis (scripts/schemathesis.mjs, pinned, installed into .stack/venv/) runs every check
 * against the order service as the lab builds it (core + the bad-scenario plugin, fault injection off) listening
 * on a free port: every status, header and body must be documented in /openapi.json, invalid requests refused with
 * a 4xx, valid ones accepted, no 5xx, 405 + Allow for an undeclared method. Negative control: the same run against
 * the same app plus one route that answers a status its document does not declare must report that failure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, useLab } from '@dual-write/testkit';
import { buildApp, type App, type AppPlugin } from '../src/app.ts';
import { faultScenarios } from '../src/lab/index.ts';

const lab = useLab();
const script = path.join(lab.config.repoRoot, 'scripts', 'schemathesis.mjs');
const reports = mkdtempSync(path.join(os.tmpdir(), 'dw-contract-'));
let topic: string;

/** What Schemathesis' JSON report (`--report json`) says about a run. */
interface RunReport {
  exit_code: number;
  complete: boolean;
  operations: { total: number; selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: unknown[];
  errors: unknown[];
}

async function listeningApp(plugins: AppPlugin[]): Promise<App> {
  const app = lab.leaks.trackCloseable('order-service app', await buildApp({ config: lab.config, databaseUrl: lab.db.appUrl, directDatabaseUrl: lab.db.url, topic, plugins }), 'close');
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

/** `npm run schemathesis -- run <url>/openapi.json` with a JSON report; the report, the exit code and the output. */
async function schemathesis(app: App, name: string): Promise<{ code: number | null; report: RunReport; output: string }> {
  const reportPath = path.join(reports, `${name}.json`);
  const run = await runCommand(process.execPath, [script, 'run', `${app.url()}/openapi.json`, '--report', 'json', '--report-json-path', reportPath], { cwd: lab.config.repoRoot });
  const output = `${run.stdout}\n${run.stderr}`;
  return { code: run.code, report: JSON.parse(readFileSync(reportPath, 'utf8')) as RunReport, output };
}

beforeAll(async () => {
  expect(lab.config.orderService.faultInjection).toBe(false);
  topic = await lab.topic('orders', 3);
  // Installs Schemathesis on the first run (≈15 s), checks the pinned version afterwards.
  const install = await runCommand(process.execPath, [script, 'install'], { cwd: lab.config.repoRoot });
  expect(install.code, install.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  rmSync(reports, { recursive: true, force: true });
});

describe('the order service against its OpenAPI document (Schemathesis, every check)', () => {
  it('passes every check on every operation, including the bad-scenario route refused with 403', async () => {
    const app = await listeningApp([faultScenarios()]);
    const { code, report, output } = await schemathesis(app, 'service');
    await app.close();
    expect(report.failures, output).toEqual([]);
    expect(report.errors, output).toEqual([]);
    expect(code, output).toBe(0);
    expect(report.complete).toBe(true);
    // A run that tested nothing would pass too: all seven operations were tested, with many cases.
    expect(report.operations).toMatchObject({ total: 7, selected: 7, tested: 7, errored: 0 });
    expect(report.test_cases.generated, output).toBeGreaterThanOrEqual(500);
    expect(report.test_cases.with_failures).toBe(0);
  }, 300_000);

  it('negative control: an app with one undocumented status (418) fails the same run, on that operation', async () => {
    // Documents only 200, answers 418 (what a route that forgot a status does).
    const teapot: AppPlugin = (fastify) => {
      const undeclared = (reply: FastifyReply) => reply.code(418).send({ tea: 'no' });
      fastify.get('/api/v1/teapot', { schema: { summary: 'Tea', response: { 200: { description: 'Tea.', type: 'object', properties: { tea: { type: 'string' } } } } } }, async (_req, reply) => undeclared(reply));
    };
    const app = await listeningApp([faultScenarios(), teapot]);
    const { code, report, output } = await schemathesis(app, 'teapot');
    await app.close();
    expect(code, output).not.toBe(0);
    expect(report.operations.tested).toBe(8);
    expect(report.failures.length, output).toBeGreaterThan(0);
    // Every failure is the teapot's, and it is the undocumented status.
    const text = JSON.stringify(report.failures);
    expect(text).toContain('/api/v1/teapot');
    expect(text).toMatch(/Undocumented status code|status_code_conformance/);
    expect(text).not.toMatch(/\/api\/v1\/(orders|login|products|bad-scenario)|\/health/);
  }, 300_000);
});

describe('the statuses the contract asks for', () => {
  let app: App;
  beforeAll(async () => {
    app = await listeningApp([faultScenarios()]);
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 405 with an Allow header on a known path asked with an undeclared method; 404 on an unknown path', async () => {
    const trace = await app.fastify.inject({ method: 'TRACE', url: '/health' });
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD');
    expect(trace.json()).toMatchObject({ code: 'DW_METHOD_NOT_ALLOWED', message: expect.stringMatching(/TRACE is not supported on \/health/), hint: expect.stringMatching(/GET, HEAD/) });
    const del = await app.fastify.inject({ method: 'DELETE', url: '/api/v1/orders/6f1c1f9e-0000-4000-8000-000000000000' });
    expect(del.statusCode).toBe(405);
    expect(del.headers.allow).toBe('GET, HEAD');
    const put = await app.fastify.inject({ method: 'PUT', url: '/api/v1/orders?strategy=outbox' });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('POST');
    const unknown = await app.fastify.inject({ method: 'TRACE', url: '/nowhere' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers.allow).toBeUndefined();
    expect(unknown.json().code).toBe('DW_NOT_FOUND');
  });

  it('gives each error its own code: 401 DW_UNAUTHORIZED, 413 DW_BODY_TOO_LARGE, 415 DW_UNSUPPORTED_MEDIA_TYPE', async () => {
    const wrong = await app.fastify.inject({ method: 'POST', url: '/api/v1/login', payload: { email: 'demo@example.com', password: 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'DW_UNAUTHORIZED', hint: expect.stringMatching(/demo@example.com/) });
    const huge = await app.fastify.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(70_000) }) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: 'DW_BODY_TOO_LARGE', hint: expect.stringMatching(/smaller body/) });
    const text = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'content-type': 'application/xml' }, payload: '<order/>' });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ code: 'DW_UNSUPPORTED_MEDIA_TYPE', hint: expect.stringMatching(/application\/json/) });
  });

  it('validates JSON bodies without type coercion: "qty": "2" and "priceCents": null are 400, not 2 and 0', async () => {
    for (const item of [{ sku: 'BOOK-001', qty: '2', priceCents: 4599 }, { sku: 'BOOK-001', qty: 1, priceCents: null }]) {
      const res = await app.fastify.inject({ method: 'POST', url: '/api/v1/orders', payload: { customerId: 'coercion', items: [item] } });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('DW_VALIDATION');
    }
    // Query strings are text on the wire and keep their coercion: ?latencyMs=5000 is an integer (then 403: off).
    const scenario = await app.fastify.inject({ method: 'GET', url: '/api/v1/bad-scenario?kind=pool&latencyMs=5000&burst=2' });
    expect(scenario.statusCode).toBe(403);
  });

  it('documents every status of every route with the shared error body', async () => {
    const doc = (await app.fastify.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { required?: string[] } }> }> }>> };
    const statuses = Object.fromEntries(Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${p}`, Object.keys(op.responses).sort()])));
    expect(statuses).toEqual({
      'GET /health': ['200', '503'],
      'POST /api/v1/orders': ['201', '400', '413', '415', '503'],
      'GET /api/v1/orders/{id}': ['200', '400', '404', '503'],
      'POST /api/v1/orders/{id}/status': ['200', '400', '404', '409', '413', '415', '503'],
      'POST /api/v1/login': ['200', '400', '401', '413', '415', '503'],
      'GET /api/v1/products': ['200', '400', '503'],
      'GET /api/v1/bad-scenario': ['200', '400', '403', '503'],
    });
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && p !== '/health') expect(res.content['application/json']!.schema.required, `${p} ${status}`).toEqual(['code', 'message', 'hint']);
        }
      }
    }
  });
});
