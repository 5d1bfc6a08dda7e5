/**
 * The optional PgBouncer, on a STACK_DIR and a port of the test's own (never the running stack's): started from
 * the Debian package's binary (installed first when missing), as a non-root user when we are root, in transaction
 * mode in front of DATABASE_URL's PostgreSQL; recorded in a pid file, listed by `stack status` (JSON), stopped by
 * `stack down`; a taken port is DW_PORT_TAKEN naming PGBOUNCER_PORT. A query through it needs the stack's
 * PostgreSQL, so that test runs when it answers (the root `npm test` starts it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DwError, findRepoRoot, resolveConfig, withDatabase } from '@dual-write/config';
import { layout } from '../src/layout.ts';
import { freePort } from '../src/net.ts';
import { pgbouncerIni, pgbouncerStatus, startPgbouncer } from '../src/pgbouncer.ts';
import { canConnect } from '../src/postgres.ts';
import { isAlive, runningFromPidFile } from '../src/process.ts';
import { stackDown, stackStatus } from '../src/stack.ts';

const ROOT = findRepoRoot();
const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-pgbouncer-'));
const port = await freePort();
const overrides = { STACK_DIR: dir, STACK_CACHE_DIR: path.join(dir, 'cache'), PGBOUNCER: true, PGBOUNCER_PORT: port };
const config = resolveConfig(overrides);
const paths = layout(config);
const postgresUp = await canConnect(withDatabase(config.database.url, 'postgres'));

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
});

function stackCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, STACK_DIR: dir, STACK_CACHE_DIR: path.join(dir, 'cache'), PGBOUNCER: 'true', PGBOUNCER_PORT: String(port) };
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/run.mjs'), 'stack', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the optional PgBouncer', () => {
  it('is off by default and listed only when enabled or running', async () => {
    expect(resolveConfig({}, {}).pgbouncer).toMatchObject({ enabled: false, port: 16432, url: 'postgres://postgres:postgres@127.0.0.1:16432/dual_write' });
    expect(await pgbouncerStatus(resolveConfig({ ...overrides, PGBOUNCER: false }), paths)).toBeUndefined();
    expect(await pgbouncerStatus(config, paths)).toMatchObject({ name: 'pgbouncer', state: 'stopped' });
  });

  it('starts in transaction mode, as a non-root user, with a pid file; `stack status --json` lists it', async () => {
    const lines: string[] = [];
    await startPgbouncer(config, paths, (l) => lines.push(l));
    expect(lines.at(-1)).toMatch(new RegExp(`pgbouncer: started \\(pid \\d+\\) at 127\\.0\\.0\\.1:${port}, pool_mode=transaction → `));
    const rec = runningFromPidFile(paths.pidFile('pgbouncer'));
    expect(rec && isAlive(rec.pid)).toBe(true);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${rec!.pid}/status`, 'utf8'))![1]);
    if (process.getuid?.() === 0) expect(uid).not.toBe(0); // it refuses root: it runs as the `postgres` user
    const ini = readFileSync(path.join(paths.pgbouncerDir, 'pgbouncer.ini'), 'utf8');
    expect(ini).toBe(pgbouncerIni(config, paths));
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(ini).toMatch(new RegExp(`^listen_port = ${port}$`, 'm'));
    expect(ini).toMatch(/^auth_type = scram-sha-256$/m);

    const r = await stackCli(['status', '--json']);
    const statuses = JSON.parse(r.stdout) as { name: string; state: string; pid?: number; version?: string; listens: string[] }[];
    const pgb = statuses.find((s) => s.name === 'pgbouncer');
    expect(pgb).toMatchObject({ state: 'running', pid: rec!.pid });
    expect(pgb!.version).toMatch(/^1\.\d+/);
    expect(pgb!.listens[0]).toContain(`127.0.0.1:${port} (pool_mode=transaction)`);

    // A second start is a no-op.
    const again: string[] = [];
    await startPgbouncer(config, paths, (l) => again.push(l));
    expect(again).toEqual([expect.stringContaining(`pgbouncer: already running (pid ${rec!.pid})`)]);
  });

  it.runIf(postgresUp)('passes statements to PostgreSQL in transaction mode with DATABASE_URL’s credentials', async () => {
    const client = new pg.Client({ connectionString: withDatabase(config.pgbouncer.url, 'postgres') });
    await client.connect();
    try {
      expect((await client.query('select current_user as u')).rows[0].u).toBe(new URL(config.database.url).username);
      const mode = (await (async () => {
        const admin = new pg.Client({ connectionString: withDatabase(config.pgbouncer.url, 'pgbouncer') });
        await admin.connect();
        try {
          return (await admin.query<{ key: string; value: string }>('SHOW CONFIG')).rows.find((row) => row.key === 'pool_mode')!.value;
        } finally {
          await admin.end();
        }
      })());
      expect(mode).toBe('transaction');
    } finally {
      await client.end();
    }
  });

  it('a taken port is DW_PORT_TAKEN naming PGBOUNCER_PORT', async () => {
    const taken = await freePort();
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    try {
      const other = resolveConfig({ ...overrides, PGBOUNCER_PORT: taken, STACK_DIR: path.join(dir, 'other') });
      const err = await startPgbouncer(other, layout(other), () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DwError);
      expect((err as DwError).code).toBe('DW_PORT_TAKEN');
      expect((err as DwError).message).toContain(`Port ${taken}, needed for PgBouncer, is taken`);
      expect((err as DwError).hint).toContain('PGBOUNCER_PORT=<port>');
    } finally {
      server.close();
    }
  });

  it('`stack down` stops it (and only what this stack started)', async () => {
    const rec = runningFromPidFile(paths.pidFile('pgbouncer'))!;
    const lines: string[] = [];
    const { stopped } = await stackDown({ config, progress: (l) => lines.push(l) });
    expect(stopped).toEqual(['pgbouncer']);
    expect(lines).toContain(`pgbouncer: stopped (pid ${rec.pid})`);
    expect(isAlive(rec.pid)).toBe(false);
    expect((await stackStatus({ config })).find((s) => s.name === 'pgbouncer')).toMatchObject({ state: 'stopped' });
  });
});
