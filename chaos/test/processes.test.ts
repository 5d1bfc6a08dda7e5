/**
 * Process faults for real: relay-kill (kill -9, then the same command line, folder and environment started
 * again — here on a stand-in relay), kafka-restart and postgres-restart on the stack's own broker and server,
 * and a chaos process killed while its fault is in place: `clear` starts again what it stopped.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { withDatabase } from '@dual-write/config';
import { LAB_LOCK_KEY } from '@dual-write/faults';
import { isAlive, kafkaAnswers, layout, runningFromPidFile } from '@dual-write/stack';
import { useLab } from '@dual-write/testkit';
import { findRelayProcesses, killHard } from '../src/processes.ts';
import { parseSchedule } from '../src/schedule.ts';
import { ROOT, runChaos, startChaos } from './child.ts';

const lab = useLab({ database: false });
const STAND_IN = path.join(ROOT, 'chaos/test/fixtures/relay/src/main.ts');

function startStandIn(tag: string): number {
  const child = spawn(process.execPath, ['--import', 'tsx', STAND_IN], { cwd: ROOT, env: { ...process.env, STAND_IN_TAG: tag }, detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

const standIns = (tag: string) => findRelayProcesses((env) => env.STAND_IN_TAG === tag);

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tags: string[] = [];
afterEach(async () => {
  for (const tag of tags.splice(0)) await killHard(standIns(tag).map((p) => p.pid));
});

async function postmasterStart(): Promise<string> {
  const c = new pg.Client({ connectionString: withDatabase(lab.config.database.url, 'postgres') });
  await c.connect();
  try {
    return (await c.query<{ t: string }>('select pg_postmaster_start_time()::text as t')).rows[0]!.t;
  } finally {
    await c.end();
  }
}

describe('relay-kill', () => {
  it('kills every relay process with SIGKILL and starts each again with the same command line, folder and environment', async () => {
    const tag = `t${Date.now()}`;
    tags.push(tag);
    const first = startStandIn(tag);
    const before = await until('the stand-in relay', () => standIns(tag).find((p) => p.pid === first));
    const run = await runChaos(['relay-kill', '--for', '300ms', '--no-lock']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`added: \\d+ relay process\\(es\\) killed with SIGKILL \\(pid [^)]*\\b${first}\\b`));
    expect(isAlive(first)).toBe(false);
    const again = await until('the restarted stand-in', () => standIns(tag)[0]);
    expect(again.pid).not.toBe(first);
    expect(again.spec.argv).toEqual(before.spec.argv);
    expect(again.spec.cwd).toBe(before.spec.cwd);
    expect(again.spec.env.STAND_IN_TAG).toBe(tag);
    expect(standIns(tag)).toHaveLength(1);
  });

  it('a chaos process killed while the relay is down: `clear` starts the relay again from its record', async () => {
    const tag = `t${Date.now()}`;
    tags.push(tag);
    const first = startStandIn(tag);
    await until('the stand-in relay', () => standIns(tag)[0]);
    const run = startChaos(['relay-kill', '--for', '60s', '--no-lock']);
    await run.line(/added: .*relay process/);
    run.child.kill('SIGKILL');
    await run.exited;
    expect(isAlive(first)).toBe(false);
    expect(standIns(tag)).toEqual([]);
    const clear = await runChaos(['clear']);
    expect(clear.code).toBe(0);
    expect(clear.stdout).toMatch(new RegExp(`started a killed relay again \\(pid \\d+.*stopped by chaos relay-kill \\(pid ${run.pid}`));
    const again = await until('the restarted stand-in', () => standIns(tag)[0]);
    expect(again.pid).not.toBe(first);
  });
});

describe('kafka-restart and postgres-restart', () => {
  it('kafka-restart stops the broker (a new pid afterwards) and the step end starts it: it answers again', async () => {
    const pidFile = layout(lab.config).pidFile('kafka');
    const before = runningFromPidFile(pidFile)!.pid;
    const run = await runChaos(['kafka-restart', '--for', '500ms', '--no-lock']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`kafka: stopped (pid ${before}, SIGTERM)`);
    expect(run.stdout).toMatch(/removed: kafka stopped — it answers again/);
    const after = runningFromPidFile(pidFile)?.pid;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await kafkaAnswers(lab.config.kafka.brokers)).toBe(true);
  });

  it('postgres-restart --kill 1 crashes the server; it comes back, and the lab lock this file holds is taken again', async () => {
    const startedBefore = await postmasterStart();
    const run = await runChaos(['postgres-restart', '--kill', '1', '--for', '500ms', '--no-lock']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/postgres: stopped \(pid \d+, SIGKILL\)/);
    expect(await postmasterStart()).not.toBe(startedBefore);
    // The lock's session died with the server; useLab holds it again on a new session.
    const c = new pg.Client({ connectionString: withDatabase(lab.config.database.url, 'postgres') });
    await c.connect();
    try {
      const held = async () =>
        (await c.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and objid = $1", [LAB_LOCK_KEY])).rows[0]!.n;
      const deadline = Date.now() + 15_000;
      while ((await held()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await held()).toBe(1);
    } finally {
      await c.end();
    }
  });
});

describe('process steps in a schedule', () => {
  it('parses relay-kill, kafka-restart and postgres-restart steps; --kill takes only 0 or 1', () => {
    const s = parseSchedule(
      JSON.stringify({ steps: [{ at: '0s', toggle: 'relay-kill', for: '2s' }, { at: '5s', toggle: 'kafka-restart', options: { kill: 1 }, for: '3s' }, { at: '10s', toggle: 'postgres-restart', for: '1s' }] }),
      'x.json',
    );
    expect(s.steps.map((x) => x.toggle.faults(x.values))).toEqual([
      [{ kind: 'kill-relays' }],
      [{ kind: 'stop', service: 'kafka', signal: 'SIGKILL' }],
      [{ kind: 'stop', service: 'postgres', signal: 'SIGINT' }],
    ]);
    expect(() => parseSchedule(JSON.stringify({ steps: [{ at: '0s', toggle: 'kafka-restart', options: { kill: 2 }, for: '1s' }] }), 'x.json')).toThrow(
      /steps\[0\]\.options\.kill: expected a whole number from 0 to 1/,
    );
  });
});
