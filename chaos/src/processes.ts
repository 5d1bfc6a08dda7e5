/**
 * Process faults: kill -9 of relay processes (and starting them again exactly as they were), and stopping /
 * starting the stack's Kafka broker or PostgreSQL server. Linux only (it reads /proc).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { DwError, resolveConfig, type HostPort, type LabConfig } from '@dual-write/config';
import { isAlive, layout } from '@dual-write/stack';

/** What it takes to start a killed relay again: its command line, folder and environment. */
export interface ProcessSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface FoundProcess {
  pid: number;
  spec: ProcessSpec;
  /** Started by another relay process (tsx's launcher runs the relay in a child): killed, but not restarted itself. */
  childOfRelay: boolean;
}

function parentPid(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)\s+/, '').split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A relay process: `npm run relay`, `node --import tsx services/relay/src/main.ts`, `tsx src/main.ts` in services/relay. */
export const RELAY_ENTRY = /(^|\/)relay\/src\/main\.ts$/;

function readProc(pid: number): ProcessSpec | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    const env: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return { argv, cwd, env };
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/** Running relay processes (never this process), optionally only those whose environment passes `filter`. */
export function findRelayProcesses(filter: (env: Record<string, string>) => boolean = () => true): FoundProcess[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    throw new DwError('DW_CONFIG_INVALID', 'Process faults need /proc (Linux): it cannot be read here.', 'Run the relay-kill step on Linux, or leave it out of the schedule.');
  }
  const found: Omit<FoundProcess, 'childOfRelay'>[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const spec = readProc(pid);
    if (!spec || !spec.argv.some((a) => RELAY_ENTRY.test(a)) || spec.argv.includes('--help')) continue;
    // `node scripts/run.mjs relay` and pnpm wrappers are parents, not relays: only the process running main.ts.
    if (!/(^|\/)(node|tsx)$/.test(spec.argv[0] ?? '')) continue;
    if (filter(spec.env)) found.push({ pid, spec });
  }
  const relayPids = new Set(found.map((f) => f.pid));
  return found.map((f) => ({ ...f, childOfRelay: relayPids.has(parentPid(f.pid) ?? -1) }));
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const sameServer = (a: HostPort, b: HostPort) =>
  a.port === b.port && (a.host === b.host || (LOOPBACK.has(a.host.toLowerCase()) && LOOPBACK.has(b.host.toLowerCase())));

/**
 * True when a relay running with environment `env` serves the stack `config` describes: the PostgreSQL its
 * DATABASE_URL names (the default when unset) is the stack's server, or the stack's `postgres` proxy. A relay of
 * another stack on the same machine (another STACK_DIR and ports), or one whose environment cannot be
 * resolved, is not.
 */
export function relayOfStack(config: LabConfig, env: Record<string, string>): boolean {
  let relay: LabConfig;
  try {
    relay = resolveConfig({}, env);
  } catch {
    return false; // such a relay could not have started: not ours to kill
  }
  const db = relay.database.upstream;
  return sameServer(db, config.database.upstream) || sameServer(db, { host: '127.0.0.1', port: config.database.proxyPort });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends SIGKILL and waits until each process is gone. */
export async function killHard(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  while (pids.some((p) => isAlive(p) && !isZombie(p))) await sleep(20);
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}

/** Starts a process again as `spec` describes, detached, its output appended to STACK_DIR/logs/<name>.log. */
export function respawn(config: LabConfig, spec: ProcessSpec, name = 'relay'): { pid: number; logFile: string } {
  const [command, ...args] = spec.argv;
  if (!command) throw new DwError('DW_PROCESS_FAILED', 'Cannot restart a process with an empty command line.', 'Start it again by hand.');
  const logFile = path.join(layout(config).logs, `${name}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new DwError('DW_PROCESS_FAILED', `Could not start ${spec.argv.join(' ')} again.`, `Start it by hand from ${spec.cwd}.`);
    child.unref();
    return { pid: child.pid, logFile };
  } finally {
    closeSync(fd);
  }
}
