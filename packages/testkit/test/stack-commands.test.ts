/**
 * `npm run stack -- status --json` against the running stack, and `up` / `down` on a second STACK_DIR that only
 * reuses the running services: `up` records nothing of them, and `down` leaves them alone — it stops only
 * processes its own pid files name, and not a pid a pid file names once another program has it.
 * The file holds the lab lock, so no other file restarts a service while it looks.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { isAlive, layout, runningFromPidFile, SERVICE_NAMES, stackDown, stackStatus, stackUp, type ServiceStatus } from '@dual-write/stack';
import { runCommand, useLab } from '../src/index.ts';

const lab = useLab({ database: false });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-reuse-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm run stack -- status --json', () => {
  it('prints each service’s name, state, pid, version and addresses as JSON — what stackStatus() reports — and exits 0', async () => {
    const r = await runCommand(process.execPath, [path.join(lab.config.repoRoot, 'scripts/run.mjs'), 'stack', 'status', '--json'], { cwd: lab.config.repoRoot });
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as ServiceStatus[];
    expect(printed).toEqual(JSON.parse(JSON.stringify(await stackStatus({ config: lab.config }))));
    // The three services, then PgBouncer when it is enabled (PGBOUNCER=true) or running (a pooler test started it).
    expect(printed.map((s) => s.name).slice(0, 3)).toEqual([...SERVICE_NAMES]);
    expect(printed.map((s) => s.name).slice(3)).toEqual(printed.length > 3 ? ['pgbouncer'] : []);
    const paths = layout(lab.config);
    for (const s of printed) {
      expect(Object.keys(s).sort()).toEqual(expect.arrayContaining(['listens', 'name', 'state']));
      // Started by this stack: "running" with the pid its pid file names; answering but not ours: "external", no pid.
      const ours = runningFromPidFile(paths.pidFile(s.name as (typeof SERVICE_NAMES)[number]));
      expect(s.state).toBe(ours ? 'running' : 'external');
      expect(s.pid).toBe(ours?.pid);
    }
    const [toxiproxy, postgres, kafka] = printed;
    expect(toxiproxy!.version).toMatch(/\d+\.\d+/);
    expect(toxiproxy!.listens).toEqual(expect.arrayContaining([`api ${lab.config.toxiproxy.url}`, expect.stringContaining(`proxy postgres 127.0.0.1:${lab.config.database.proxyPort} → `)]));
    expect(postgres!.version).toMatch(/^\d+\.\d+/);
    expect(postgres!.listens).toContain(`direct ${lab.config.database.upstream.host}:${lab.config.database.upstream.port}`);
    expect(postgres!.listens.join(' ')).not.toContain(':postgres@'); // the password is never printed
    expect(kafka!.listens).toContain(`direct ${lab.config.kafka.brokers.join(',')}`);
  });
});

describe('a stack that only reuses running services', () => {
  const config = resolveConfig({ STACK_DIR: scratch, STACK_CACHE_DIR: lab.config.cacheDir, PGBOUNCER: false });
  const paths = layout(config);
  const mainPids = () => SERVICE_NAMES.map((s) => runningFromPidFile(layout(lab.config).pidFile(s))?.pid);

  it('up reuses what answers and records none of it; down stops nothing and leaves it running', async () => {
    const before = mainPids();
    const lines: string[] = [];
    const statuses = await stackUp({ config, progress: (l) => lines.push(l) });
    expect(statuses.map((s) => [s.name, s.state, s.pid])).toEqual(SERVICE_NAMES.map((n) => [n, 'external', undefined]));
    expect(lines.filter((l) => /reusing the (server|broker) that answers/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /started \(pid/.test(l))).toEqual([]);
    expect(existsSync(paths.run) ? readdirSync(paths.run).filter((f) => f.endsWith('.pid')) : []).toEqual([]);

    const down: string[] = [];
    const { stopped, leftRunning } = await stackDown({ config, progress: (l) => down.push(l) });
    expect(stopped).toEqual([]);
    expect(leftRunning).toEqual([...SERVICE_NAMES]);
    expect(down.filter((l) => l.endsWith('still answering, but not started by this stack — left alone'))).toHaveLength(3);
    expect(mainPids()).toEqual(before);
    expect((await stackStatus({ config: lab.config })).map((s) => s.state)).not.toContain('stopped');
  });

  it('down stops a process its pid file names, but not a pid another program now has (a recycled pid)', async () => {
    mkdirSync(paths.run, { recursive: true });
    // Ours: a process whose command line carries the marker recorded for it.
    const ours = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)', 'toxiproxy-server-stand-in'], { detached: true, stdio: 'ignore' });
    // Not ours: the pid file names a pid that a program without the marker holds now.
    const stranger = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
    try {
      writeFileSync(paths.pidFile('toxiproxy'), JSON.stringify({ pid: ours.pid, marker: 'toxiproxy-server', startedAt: new Date().toISOString() }));
      writeFileSync(paths.pidFile('postgres'), JSON.stringify({ pid: stranger.pid, marker: 'postgres', startedAt: new Date().toISOString() }));
      const { stopped, leftRunning } = await stackDown({ config });
      expect(stopped).toEqual(['toxiproxy']);
      expect(isAlive(ours.pid!)).toBe(false);
      expect(isAlive(stranger.pid!)).toBe(true);
      // The real services answer still: left alone.
      expect(leftRunning).toEqual([...SERVICE_NAMES]);
    } finally {
      for (const c of [ours, stranger]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });
});
