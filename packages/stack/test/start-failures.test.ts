/**
 * How `stack up` fails, on ports and programs of the test's own — never the running stack's:
 *  - a port the stack needs is taken: DW_PORT_TAKEN names the process holding it (pid and command line);
 *  - a service that does not become ready in time: DW_NOT_READY with the tail of its log; one that exits
 *    during start-up: DW_PROCESS_FAILED with the tail of its log. The "service" is a stand-in Toxiproxy binary
 *    (STACK_CACHE_DIR and TOXIPROXY_VERSION point the stack at it) that prints a few lines and never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DwError, resolveConfig, type ConfigOverrides } from '@dual-write/config';
import { layout } from '../src/layout.ts';
import { freePort } from '../src/net.ts';
import { startPostgres } from '../src/postgres.ts';
import { isAlive, stopFromPidFile } from '../src/process.ts';
import { startToxiproxy } from '../src/toxiproxy.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config whose STACK_DIR and STACK_CACHE_DIR are a fresh temporary folder. */
function scratchConfig(overrides: ConfigOverrides) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-fail-'));
  dirs.push(dir);
  const config = resolveConfig({ STACK_DIR: dir, STACK_CACHE_DIR: path.join(dir, 'cache'), ...overrides });
  return { config, paths: layout(config) };
}

/** Another program holding `port`: a node process with a recognisable command line that drops every connection. */
async function holdPort(port: number): Promise<ChildProcess> {
  const code = `/*dw-port-holder*/require('net').createServer((s)=>s.destroy()).listen(${port},'127.0.0.1',()=>console.log('holding'))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`the port holder exited (${c})`)));
  });
  return child;
}

async function failure(p: Promise<unknown>): Promise<DwError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DwError) return err;
    throw err;
  }
  throw new Error('it did not fail');
}

describe('a port the stack needs is taken', () => {
  it('DW_PORT_TAKEN names the process holding it, for Toxiproxy’s API and for PostgreSQL, with the setting to change', async () => {
    const port = await freePort();
    const holder = await holdPort(port);

    const toxiproxy = scratchConfig({ TOXIPROXY_URL: `http://127.0.0.1:${port}` });
    const e1 = await failure(startToxiproxy(toxiproxy.config, toxiproxy.paths, () => {}));
    expect(e1.code).toBe('DW_PORT_TAKEN');
    expect(e1.message).toContain(`Port ${port}, needed for Toxiproxy API, is taken by pid ${holder.pid}: `);
    expect(e1.message).toContain('dw-port-holder');
    expect(e1.hint).toContain('TOXIPROXY_URL=<port>');

    const postgres = scratchConfig({ DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/dual_write`, POSTGRES_MANAGED: 'true' });
    const e2 = await failure(startPostgres(postgres.config, postgres.paths, () => {}));
    expect(e2.code).toBe('DW_PORT_TAKEN');
    expect(e2.message).toContain(`Port ${port}, needed for PostgreSQL, is taken by pid ${holder.pid}: `);
    expect(e2.hint).toContain('DATABASE_URL');
  });
});

/** A stand-in toxiproxy-server in the scratch cache: prints `lines`, then runs `tail` (a shell command). */
function fakeToxiproxy(version: string, lines: string[], tail: string, overrides: ConfigOverrides = {}) {
  const s = scratchConfig({ TOXIPROXY_VERSION: version, STACK_READY_TIMEOUT_MS: 600, ...overrides });
  mkdirSync(s.paths.bin, { recursive: true });
  writeFileSync(s.paths.toxiproxyBinary, `#!/bin/sh\n${lines.map((l) => `echo '${l}'`).join('\n')}\n${tail}\n`);
  chmodSync(s.paths.toxiproxyBinary, 0o755);
  return s;
}

describe('a service that does not start', () => {
  it('never ready within STACK_READY_TIMEOUT_MS: DW_NOT_READY with the last lines of its log', async () => {
    const s = fakeToxiproxy('v0.0.0-never-ready', ['fake toxiproxy: loading', 'fake toxiproxy: waiting on a disk that never answers'], 'sleep 600', {
      TOXIPROXY_URL: `http://127.0.0.1:${await freePort()}`,
    });
    try {
      const err = await failure(startToxiproxy(s.config, s.paths, () => {}));
      expect(err.code).toBe('DW_NOT_READY');
      expect(err.message).toContain(`toxiproxy did not become ready within 600 ms. Last lines of ${s.paths.logFile('toxiproxy')}:`);
      expect(err.message).toContain('fake toxiproxy: loading\nfake toxiproxy: waiting on a disk that never answers');
      expect(err.hint).toContain('STACK_READY_TIMEOUT_MS');
    } finally {
      // It was started and recorded like a real one: `down` (stopFromPidFile) stops it.
      expect(await stopFromPidFile(s.paths.pidFile('toxiproxy'), 'SIGTERM', 5000)).toBe(true);
    }
  });

  it('exits during start-up: DW_PROCESS_FAILED with the last lines of its log, at once', async () => {
    const s = fakeToxiproxy('v0.0.0-exits', ['fake toxiproxy: listen tcp: permission denied'], 'exit 1', {
      TOXIPROXY_URL: `http://127.0.0.1:${await freePort()}`,
      STACK_READY_TIMEOUT_MS: 60_000,
    });
    const err = await failure(startToxiproxy(s.config, s.paths, () => {}));
    expect(err.code).toBe('DW_PROCESS_FAILED');
    expect(err.message).toContain('toxiproxy exited during start-up');
    expect(err.message).toContain('fake toxiproxy: listen tcp: permission denied');
    const { pid } = JSON.parse(readFileSync(s.paths.pidFile('toxiproxy'), 'utf8')) as { pid: number };
    expect(isAlive(pid)).toBe(false);
  });
});
