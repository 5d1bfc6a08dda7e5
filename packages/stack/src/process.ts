/** Detached child processes with pid files and log files, so the stack outlives the command that started it. */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DwError } from '@dual-write/config';

export interface PidRecord {
  pid: number;
  /** A string that must appear in /proc/<pid>/cmdline, so a recycled pid is never mistaken for ours. */
  marker: string;
  startedAt: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export function readPid(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** The recorded process, if it is still running and still the one we started. */
export function runningFromPidFile(file: string): PidRecord | undefined {
  const rec = readPid(file);
  if (!rec || !isAlive(rec.pid)) return undefined;
  const cmd = cmdlineOf(rec.pid);
  if (cmd && !cmd.includes(rec.marker)) return undefined;
  return rec;
}

export interface StartDetachedOptions {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  marker: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

export function startDetached(opts: StartDetachedOptions): PidRecord {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  mkdirSync(path.dirname(opts.pidFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  const spawnOpts: SpawnOptions = {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
  };
  if (opts.uid !== undefined) spawnOpts.uid = opts.uid;
  if (opts.gid !== undefined) spawnOpts.gid = opts.gid;
  const child = spawn(opts.command, opts.args, spawnOpts);
  closeSync(fd);
  if (child.pid === undefined) {
    throw new DwError('DW_PROCESS_FAILED', `Could not start ${opts.command}.`, `Check that ${opts.command} exists and is executable.`);
  }
  child.unref();
  const rec: PidRecord = { pid: child.pid, marker: opts.marker, startedAt: new Date().toISOString() };
  writeFileSync(opts.pidFile, JSON.stringify(rec));
  return rec;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs the whole process group. Returns true if something was stopped. */
export async function stopFromPidFile(file: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<boolean> {
  const rec = runningFromPidFile(file);
  if (!rec) {
    rmSync(file, { force: true });
    return false;
  }
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig); // the process group: detached children lead their own group
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  kill(signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(rec.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(rec.pid)) {
    kill('SIGKILL');
    while (isAlive(rec.pid)) await sleep(50);
  }
  rmSync(file, { force: true });
  return true;
}

export function tailFile(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log yet)';
  const text = readFileSync(file, 'utf8');
  return text.split('\n').slice(-lines - 1).join('\n');
}

/** Runs a command to completion, returning its status and output (never throws for a non-zero exit). */
export function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, error: r.error, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Like `run` but asynchronous, so several downloads can go at once; output goes to a log file. */
export function runToLog(command: string, args: string[], logFile: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
    child.on('error', (err) => {
      closeSync(fd);
      reject(err);
    });
    child.on('exit', (code) => {
      closeSync(fd);
      resolve(code ?? 1);
    });
  });
}
