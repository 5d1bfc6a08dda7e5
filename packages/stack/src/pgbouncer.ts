/**
 * PgBouncer, the optional pooler: the real one (Debian package `pgbouncer`, installed with apt-get when it is
 * missing and we are root), in TRANSACTION mode in front of the stack's PostgreSQL — the way managed databases
 * are usually reached, and the mode in which LISTEN and session advisory locks silently stop working. Off by
 * default: `stack up` starts it with PGBOUNCER=true, a test with ensurePgbouncer().
 *
 * Its config lives in STACK_DIR/pgbouncer (rewritten at every start): every database name is passed through to
 * PostgreSQL (`* = host=… port=…`), one user — DATABASE_URL's — authenticated with SCRAM from a userlist file,
 * and that user is admin of the console (the database `pgbouncer`: SHOW VERSION, SHOW CLIENTS…). PgBouncer refuses
 * to run as root, so as root it runs as the `postgres` system user, like the embedded PostgreSQL.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DwError, withDatabase, type LabConfig } from '@dual-write/config';
import type { Layout } from './layout.ts';
import { isListening } from './net.ts';
import { serverUser } from './postgres.ts';
import { run, runningFromPidFile, runToLog, startDetached, stopFromPidFile, tailFile } from './process.ts';
import { portTaken } from './toxiproxy.ts';
import { waitUntilReady } from './wait.ts';
import type { Progress, ServiceStatus } from './types.ts';

export const PGBOUNCER_POOL_MODE = 'transaction';
export const PGBOUNCER_PACKAGE = 'pgbouncer';

/** Where package managers put the binary (Debian: /usr/sbin, often not on a normal user's PATH). */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/opt/homebrew/bin'];

/** The pgbouncer binary on PATH or in the usual places; undefined when there is none. */
export function findPgbouncer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS]) {
    const file = path.join(dir, 'pgbouncer');
    if (existsSync(file)) return file;
  }
  return undefined;
}

const MISSING_HINT = 'Install it (Debian/Ubuntu: `sudo apt-get update && sudo apt-get install -y pgbouncer`; macOS: `brew install pgbouncer`), or leave PGBOUNCER unset — only PGBOUNCER=true and the pooler tests need it.';

/** The binary, installed with `apt-get update && apt-get install -y pgbouncer` first when it is missing (root only). */
export async function ensurePgbouncerBinary(paths: Layout, progress: Progress): Promise<string> {
  const found = findPgbouncer();
  if (found) return found;
  const apt = run('apt-get', ['--version'], { timeoutMs: 30_000 });
  if (process.getuid?.() !== 0 || apt.error || apt.status !== 0) {
    throw new DwError('DW_PGBOUNCER_MISSING', `PgBouncer (pgbouncer) was not found on PATH or in ${EXTRA_DIRS.join(', ')}${process.getuid?.() === 0 ? ', and there is no apt-get to install it' : ', and only root can install it with apt-get'}.`, MISSING_HINT);
  }
  progress(`pgbouncer: apt-get install ${PGBOUNCER_PACKAGE} (first run only)…`);
  const logFile = paths.logFile('pgbouncer-install');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt/dpkg (a colleague's install) instead of failing on its lock.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const step = async (args: string[]) => runToLog('apt-get', [...lock, ...args], logFile, { env }).catch(() => 1);
  const updated = await step(['update']);
  const installed = await step(['install', '-y', '--no-install-recommends', PGBOUNCER_PACKAGE]);
  const binary = findPgbouncer();
  if (installed !== 0 || !binary) {
    throw new DwError('DW_PGBOUNCER_MISSING', `apt-get ${updated !== 0 ? 'update / ' : ''}install ${PGBOUNCER_PACKAGE} failed (exit ${installed}). Last lines of ${logFile}:\n${tailFile(logFile, 15)}`, `Check that the Debian package mirror is reachable (\`apt-get update\`). ${MISSING_HINT}`);
  }
  progress(`pgbouncer: installed ${binary}`);
  return binary;
}

/** A value for pgbouncer.ini's userlist file: "…" with quotes doubled. */
const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The stack's pgbouncer.ini (transaction mode, every database passed through, SCRAM from a userlist file). */
export function pgbouncerIni(config: LabConfig, paths: Layout): string {
  const { host, port } = config.database.upstream;
  const user = decodeURIComponent(new URL(config.database.url).username || 'postgres');
  return [
    '; Written by the stack (packages/stack/src/pgbouncer.ts) at every start: edits here are overwritten.',
    '[databases]',
    `* = host=${host === 'localhost' ? '127.0.0.1' : host} port=${port}`,
    '',
    '[pgbouncer]',
    `listen_addr = ${config.pgbouncer.host}`,
    `listen_port = ${config.pgbouncer.port}`,
    'unix_socket_dir =',
    'auth_type = scram-sha-256',
    `auth_file = ${path.join(paths.pgbouncerDir, 'userlist.txt')}`,
    `admin_users = ${user}`,
    `stats_users = ${user}`,
    `pool_mode = ${PGBOUNCER_POOL_MODE}`,
    'max_client_conn = 1000',
    'default_pool_size = 20',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
}

/** Writes pgbouncer.ini and userlist.txt (readable by the user PgBouncer runs as); returns the ini's path. */
function writeConfig(config: LabConfig, paths: Layout, owner: { uid: number; gid: number } | undefined): string {
  const url = new URL(config.database.url);
  const user = decodeURIComponent(url.username || 'postgres');
  const password = decodeURIComponent(url.password || 'postgres');
  mkdirSync(paths.pgbouncerDir, { recursive: true });
  if (owner) chmodSync(paths.root, 0o755); // the `postgres` user must reach its files
  chmodSync(paths.pgbouncerDir, 0o755);
  const ini = path.join(paths.pgbouncerDir, 'pgbouncer.ini');
  const userlist = path.join(paths.pgbouncerDir, 'userlist.txt');
  writeFileSync(ini, pgbouncerIni(config, paths), { mode: 0o644 });
  writeFileSync(userlist, `${quoted(user)} ${quoted(password)}\n`, { mode: 0o600 });
  chmodSync(userlist, 0o600);
  if (owner) chownSync(userlist, owner.uid, owner.gid);
  return ini;
}

/** "1.18.0" when a PgBouncer answers on its admin console with DATABASE_URL's credentials, else undefined. */
export async function pgbouncerVersion(config: LabConfig): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: withDatabase(config.pgbouncer.url, 'pgbouncer'), connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('SHOW VERSION');
    return rows[0]?.version.replace(/^PgBouncer\s+/i, '');
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPgbouncer(config: LabConfig, paths: Layout, progress: Progress): Promise<void> {
  const { host, port } = config.pgbouncer;
  const pidFile = paths.pidFile('pgbouncer');
  const ours = runningFromPidFile(pidFile);
  const version = await pgbouncerVersion(config);
  if (version) {
    progress(`pgbouncer: ${ours ? `already running (pid ${ours.pid})` : 'reusing the server that answers'} at ${host}:${port} (version ${version})`);
    return;
  }
  if (ours) await stopFromPidFile(pidFile);
  if (await isListening(host, port)) throw portTaken('PgBouncer', port, 'PGBOUNCER_PORT');
  const binary = await ensurePgbouncerBinary(paths, progress);
  const owner = serverUser(); // PgBouncer refuses to run as root ("should not run as root")
  const ini = writeConfig(config, paths, owner);
  const rec = startDetached({
    command: binary,
    args: [ini], // in the foreground: it logs to stderr (the log file), its pid is the one we record
    logFile: paths.logFile('pgbouncer'),
    pidFile,
    marker: 'pgbouncer',
    uid: owner?.uid,
    gid: owner?.gid,
  });
  await waitUntilReady({
    service: 'pgbouncer',
    probe: async () => (await pgbouncerVersion(config)) !== undefined,
    timeoutMs: config.readyTimeoutMs,
    logFile: paths.logFile('pgbouncer'),
    stillRunning: () => runningFromPidFile(pidFile)?.pid === rec.pid,
  });
  const up = config.database.upstream;
  progress(`pgbouncer: started (pid ${rec.pid}) at ${host}:${port}, pool_mode=${PGBOUNCER_POOL_MODE} → ${up.host}:${up.port}`);
}

/** Its status, or undefined when it is neither enabled (PGBOUNCER) nor running from our pid file: optional services are listed only then. */
export async function pgbouncerStatus(config: LabConfig, paths: Layout): Promise<ServiceStatus | undefined> {
  const ours = runningFromPidFile(paths.pidFile('pgbouncer'));
  if (!config.pgbouncer.enabled && !ours) return undefined;
  const version = await pgbouncerVersion(config);
  const up = config.database.upstream;
  return {
    name: 'pgbouncer',
    state: version ? (ours ? 'running' : 'external') : 'stopped',
    pid: ours?.pid,
    version,
    listens: [`pooler ${config.pgbouncer.host}:${config.pgbouncer.port} (pool_mode=${PGBOUNCER_POOL_MODE}) → ${up.host}:${up.port}`, 'admin console: database pgbouncer'],
  };
}
