/**
 * `npm start` (node scripts/run.mjs start) for real: the stack up, then the lab — the order service on PORT
 * with fault injection on, the relay (RELAY_PORT=0 here: a free port), shipping and billing. It answers
 * /health, and stops cleanly: on Ctrl-C (SIGINT to the terminal's process group) and on SIGTERM to the
 * command alone (`kill <pid>`), the lab closes, frees its port and the command exits 0.
 * It runs on this file's database and topic, never the main ones.
 */
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCommand, useLab, type RunningCommand } from '@dual-write/testkit';
import { isAlive, isListening, pidListeningOn } from '@dual-write/stack';

const lab = useLab();
let topic = '';
beforeAll(async () => {
  topic = await lab.topic('orders', 2);
});

const started: { run: RunningCommand; port: number; labPid?: number }[] = [];
afterEach(async () => {
  // A failed test may leave the lab running: stop what this file started.
  for (const s of started.splice(0)) {
    for (const pid of [s.labPid, s.run.pid]) {
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});

async function npmStart(): Promise<{ run: RunningCommand; port: number; labPid: number; url: string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), RELAY_PORT: '0', DATABASE_URL: lab.db.url, ORDERS_TOPIC: topic };
  delete env.FAULT_INJECTION; // npm start turns it on by itself
  // detached: its own process group, as a terminal gives a command — so a "Ctrl-C" can reach the whole group.
  const run = startCommand(process.execPath, [path.join(lab.config.repoRoot, 'scripts/run.mjs'), 'start'], { cwd: lab.config.repoRoot, env, detached: true });
  const entry = { run, port } as (typeof started)[number];
  started.push(entry);
  await run.line(/dual-write-lab is running/);
  const labPid = pidListeningOn(port);
  expect(labPid, `nothing listens on ${port}:\n${run.stdout()}\n${run.stderr()}`).toBeDefined();
  entry.labPid = labPid;
  return { run, port, labPid: labPid!, url: `http://127.0.0.1:${port}` };
}

async function expectServing(url: string, run: RunningCommand) {
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok', checks: { database: 'ok', kafka: 'ok' }, via: 'toxiproxy' });
  // Fault injection is on: an unknown kind is a validation error (400), not the 403 of a service with it off.
  const scenario = await fetch(`${url}/api/v1/bad-scenario?kind=nope`);
  expect(scenario.status).toBe(400);
  expect(((await scenario.json()) as { code: string }).code).toBe('DW_VALIDATION');
  // The relay's /metrics, on the free port RELAY_PORT=0 picked, not on the fixed 9464.
  const metricsUrl = /relay \(metrics (http:\/\/[^)\s]+)\)/.exec(run.stdout())?.[1];
  expect(metricsUrl, run.stdout()).toBeDefined();
  expect(new URL(metricsUrl!).port).not.toBe(String(lab.config.relay.port));
  const metrics = await fetch(metricsUrl!);
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toContain('outbox');
  // The dashboard, named in the startup text, answers there.
  const dashboardUrl = /dashboard: (http:\/\/\S+)/.exec(run.stdout())?.[1];
  expect(dashboardUrl, run.stdout()).toBe(`${url.replace('127.0.0.1', 'localhost')}/dashboard/`);
  const dashboard = await fetch(dashboardUrl!.replace('localhost', '127.0.0.1'));
  expect(dashboard.status).toBe(200);
  expect(await dashboard.text()).toContain('<main id="main">');
}

describe('npm start', () => {
  it('serves /health on PORT; Ctrl-C (SIGINT to the process group) closes the lab, frees the port, exit 0', async () => {
    const { run, port, labPid, url } = await npmStart();
    expect(labPid).not.toBe(run.pid); // the lab runs in a child of run.mjs
    await expectServing(url, run);

    process.kill(-run.pid, 'SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(labPid)).toBe(false);
    expect(await isListening('127.0.0.1', port)).toBe(false);
    await run.closed;
    expect(run.stdout()).toContain('SIGINT: stopping…');
  });

  it('SIGTERM to the command alone (kill <pid>) stops the lab too — it does not keep running on its port', async () => {
    const { run, port, labPid, url } = await npmStart();
    await expectServing(url, run);

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(labPid), `the lab (pid ${labPid}) outlived npm start`).toBe(false);
    expect(await isListening('127.0.0.1', port)).toBe(false);
    await run.closed;
    expect(run.stdout()).toContain('SIGTERM: stopping…');
  });
});
