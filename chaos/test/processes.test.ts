/**
 * Process faults for real: relay-kill (kill -9, then the same command line, folder and environment started
 * again — here on a stand-in relay), kafka-restart and postgres-restart on the stack's own broker and server,
 * and a chaos process killed while its fault is in place: `clear` starts again what it stopped.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig, withDatabase } from '@dual-write/config';
import { LAB_LOCK_KEY } from '@dual-write/faults';
import { isAlive, kafkaAnswers, layout, runningFromPidFile } from '@dual-write/stack';
import { useLab } from '@dual-write/testkit';
import { findRelayProcesses, killHard, relayOfStack } from '../src/processes.ts';
import { parseSchedule } from '../src/schedule.ts';
import { ROOT, runChaos, startChaos } from './child.ts';

const lab = useLab({ database: false });
const STAND_IN = path.join(ROOT, 'chaos/test/fixtures/relay/src/main.ts');
/** The database of a second stack on this machine (the ports stack-lifecycle.test.ts gives its own stack). */
const OTHER_STACK_DB = 'postgres://postgres:postgres@127.0.0.1:25420/dual_write';

function startStandIn(tag: string, env: NodeJS.ProcessEnv = {}): number {
  const child = spawn(process.execPath, ['--import', 'tsx', STAND_IN], { cwd: ROOT, env: { ...process.env, ...env, STAND_IN_TAG: tag }, detached: true, stdio: 'ignore' });
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

describe('relay-kill and other stacks', () => {
  it('a relay belongs to the stack whose PostgreSQL its DATABASE_URL names (directly or through its postgres proxy)', () => {
    const stack = lab.config;
    const port = stack.database.upstream.port;
    expect(relayOfStack(stack, { ...process.env } as Record<string, string>)).toBe(true); // started from this environment
    expect(relayOfStack(stack, { DATABASE_URL: `postgres://u:p@localhost:${port}/soak_db` })).toBe(true); // another database, same server
    expect(relayOfStack(stack, { DATABASE_URL: `postgres://u:p@127.0.0.1:${stack.database.proxyPort}/x` })).toBe(true); // through the proxy
    expect(relayOfStack(stack, { DATABASE_URL: OTHER_STACK_DB })).toBe(false);
    expect(relayOfStack(stack, { DATABASE_URL: `postgres://u:p@db.example.com:${port}/x` })).toBe(false);
    expect(relayOfStack(stack, { DATABASE_URL: 'not a url' })).toBe(false); // such a relay cannot have started
    // The same rule seen from the other stack.
    const other = resolveConfig({ DATABASE_URL: OTHER_STACK_DB, POSTGRES_PROXY_PORT: 25421 });
    expect(relayOfStack(other, { DATABASE_URL: OTHER_STACK_DB })).toBe(true);
    expect(relayOfStack(other, { DATABASE_URL: lab.config.database.url })).toBe(false);
  });

  it('kills the relays of this stack only: a relay of another stack (its DATABASE_URL elsewhere) keeps running', async () => {
    const tag = `t${Date.now()}`;
    const foreignTag = `${tag}-other`;
    tags.push(tag, foreignTag);
    const ours = startStandIn(tag, { DATABASE_URL: lab.config.database.url });
    const foreign = startStandIn(foreignTag, { DATABASE_URL: OTHER_STACK_DB });
    await until('both stand-ins', () => (standIns(tag).length && standIns(foreignTag).length ? true : undefined));
    const run = await runChaos(['relay-kill', '--for', '300ms', '--no-lock']);
    expect(run.code, run.stderr).toBe(0);
    expect(isAlive(ours)).toBe(false);
    expect(isAlive(foreign)).toBe(true);
    expect(standIns(foreignTag).map((p) => p.pid)).toEqual([foreign]);
    expect(run.stdout).toMatch(new RegExp(`leaving \\d+ relay process\\(es\\) of another stack alone \\(pid [^:]*\\b${foreign}\\b`));
    expect(run.stdout).not.toMatch(new RegExp(`killed with SIGKILL \\(pid [^)]*\\b${foreign}\\b`));
    // Ours was started again; the other stack's relay was never part of the fault.
    await until('the restarted stand-in', () => standIns(tag)[0]);
  });
});

describe('a step that fails', () => {
  it('exits 1, and what the run had already put in place is removed: no toxic left, no record left', async () => {
    // A stack folder with no Kafka of its own: the schedule's kafka-restart finds nothing to stop and fails
    // (DW_STACK_NOT_RUNNING) while the first step's latency toxic is on the kafka proxy.
    const stackDir = mkdtempSync(path.join(os.tmpdir(), 'dw-chaos-fail-'));
    try {
      const file = path.join(stackDir, 'failing.json');
      writeFileSync(file, JSON.stringify({ steps: [{ at: '0s', toggle: 'kafka-latency', options: { ms: 20 }, for: '60s' }, { at: '500ms', toggle: 'kafka-restart', for: '1s' }] }));
      const run = startChaos(['schedule', file, '--no-lock'], { STACK_DIR: stackDir, KAFKA_MANAGED: 'true' });
      await run.line(/added: latency 20 ms/);
      expect(await lab.toxics.list('kafka')).toHaveLength(1); // in place before the failure
      const { code } = await run.exited;
      expect(code, run.stderr()).toBe(1);
      expect(run.stderr()).toContain('[DW_STACK_NOT_RUNNING] kafka is not running');
      expect(run.stdout()).toMatch(/removed: latency 20 ms .*chaos_kafka-latency_/);
      expect(await lab.toxics.list('kafka')).toEqual([]);
      expect(await lab.toxics.list('postgres')).toEqual([]);
      expect((await lab.toxics.proxy('kafka')).enabled).toBe(true);
      const runDir = path.join(stackDir, 'run');
      expect(existsSync(runDir) ? readdirSync(runDir).filter((f) => f.startsWith('chaos-')) : []).toEqual([]);
      // The main stack's broker was not touched.
      expect(await kafkaAnswers(lab.config.kafka.brokers)).toBe(true);
    } finally {
      rmSync(stackDir, { recursive: true, force: true });
    }
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
