/**
 * `npm run order-service` (node scripts/run.mjs order-service) for real: the order service alone on PORT,
 * fault injection off unless FAULT_INJECTION says so — the bad-scenario endpoint refuses with 403 — and a
 * SIGTERM to the command stops it (exit 0, port free). It runs on this file's database and topic.
 */
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCommand, useLab, type RunningCommand } from '@dual-write/testkit';
import { isListening, pidListeningOn } from '../../../packages/stack/src/net.ts';

const lab = useLab();
let topic = '';
beforeAll(async () => {
  topic = await lab.topic('orders', 2);
});

const started: RunningCommand[] = [];
afterEach(() => {
  for (const run of started.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});

describe('npm run order-service', () => {
  it('serves /health on PORT with fault injection off by default (bad-scenario → 403), and stops on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATABASE_URL: lab.db.url, ORDERS_TOPIC: topic };
    delete env.FAULT_INJECTION;
    const run = startCommand(process.execPath, [path.join(lab.config.repoRoot, 'scripts/run.mjs'), 'order-service'], { cwd: lab.config.repoRoot, env });
    started.push(run);
    await run.line(/order service listening on /);
    const servicePid = pidListeningOn(port);
    expect(servicePid).toBeDefined();
    const url = `http://127.0.0.1:${port}`;

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', checks: { database: 'ok', kafka: 'ok' }, via: 'toxiproxy' });
    // A valid kind, so the refusal is about fault injection, not the query.
    const scenario = await fetch(`${url}/api/v1/bad-scenario?kind=db`);
    expect(scenario.status).toBe(403);
    expect(((await scenario.json()) as { code: string }).code).toBe('DW_FAULT_INJECTION_DISABLED');
    // Alone: no consumer and no relay in this process.
    expect(run.stdout()).not.toMatch(/consuming .* as group|relay \(metrics/);

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(await isListening('127.0.0.1', port)).toBe(false);
    await run.closed;
    expect(run.stdout()).toContain('SIGTERM: stopping…');
    // The migrations it applied at start are in this file's database.
    const pool = lab.pool();
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from information_schema.tables where table_name in ('orders', 'outbox')");
    expect(rows[0]!.n).toBe(2);
  });
});
