/**
 * CPU time of processes from /proc/<pid>/stat (utime + stime, in clock ticks), and the pids of PostgreSQL and
 * Kafka found by the port they listen on (/proc/net/tcp → socket inode → /proc/<pid>/fd), so no pid file of
 * the stack is needed. Linux only; elsewhere the figures are left out with a note.
 */
import { pidListeningOn } from '@dual-write/stack';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
/** Clock ticks per second (getconf CLK_TCK; 100 on Linux). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime (s). */
  cpu: number;
  /** cutime + cstime (s): children that exited and were waited for. */
  childrenCpu: number;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state); utime is field 14 → f[11].
    const t = clockTicks();
    return { pid, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / t, childrenCpu: (Number(f[13]) + Number(f[14])) / t };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** The pid listening on a TCP port (the stack's helper: PostgreSQL and Kafka are found by their port). */
export { pidListeningOn };

/** A process and its descendants (e.g. the postmaster and its backends). */
export interface TreeSample {
  root: number;
  perPid: Map<number, number>;
  rootChildrenCpu: number;
}

export function sampleTree(root: number): TreeSample {
  const stats = allPids().map(procStat).filter((s): s is ProcStat => s !== undefined);
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const perPid = new Map<number, number>();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const s = byPid.get(pid);
    if (s) perPid.set(pid, s.cpu);
    stack.push(...(children.get(pid) ?? []));
  }
  return { root, perPid, rootChildrenCpu: byPid.get(root)?.childrenCpu ?? 0 };
}

/**
 * CPU seconds the tree used between two samples: per pid after − before (a new pid counts from 0), plus the
 * root's children time that grew (processes that exited and were reaped in between) — less what a process that
 * exited had already used at the first sample: the reaped time is its whole life's. (Without that, a PostgreSQL
 * whose backends and parallel workers come and go was shown using several cores on a 2-core machine.)
 */
export function treeCpuBetween(a: TreeSample, b: TreeSample): number {
  let sum = b.rootChildrenCpu - a.rootChildrenCpu;
  for (const [pid, cpu] of b.perPid) sum += cpu - (a.perPid.get(pid) ?? 0);
  for (const [pid, cpu] of a.perPid) if (pid !== a.root && !b.perPid.has(pid)) sum -= cpu;
  return Math.max(0, sum);
}

export const isLinuxProc = (): boolean => existsSync('/proc/self/stat');

/** Runs a command to its end, collecting its output (rejects only when it cannot start). */
export function runCaptured(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
