/**
 * CPU time of named processes over a window, from /proc/<pid>/stat (utime + stime): a process alone, or a
 * process with its descendants (PostgreSQL: the postmaster and its backends). Linux only: elsewhere every
 * figure is undefined.
 */
import { readFileSync } from 'node:fs';
import { clockTicks, procStat, sampleTree, treeCpuBetween, type TreeSample } from './proc.ts';

export interface CpuTarget {
  name: string;
  /** undefined: not found (left out), unless `machine`. */
  pid: number | undefined;
  /** Count the process's descendants too. */
  tree?: boolean;
  /** The whole machine: every core's busy time (/proc/stat), whatever process used it. */
  machine?: boolean;
}

/** CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait). */
export function machineBusySeconds(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return (total - f[3]! - f[4]!) / clockTicks();
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = (number | TreeSample | undefined)[];

export function sampleCpu(targets: readonly CpuTarget[]): CpuSnapshot {
  return targets.map((t) => (t.machine ? machineBusySeconds() : t.pid === undefined ? undefined : t.tree ? sampleTree(t.pid) : procStat(t.pid)?.cpu));
}

export interface CpuUse {
  process: string;
  cpuSeconds: number;
  /** cpuSeconds ÷ the window (s): how many cores it kept busy on average. */
  cores: number;
}

/** CPU used by each target between two snapshots of the same targets; targets not sampled both times are left out. */
export function cpuBetween(targets: readonly CpuTarget[], before: CpuSnapshot, after: CpuSnapshot, seconds: number): CpuUse[] {
  return targets.flatMap((t, i) => {
    const a = before[i];
    const b = after[i];
    if (a === undefined || b === undefined) return [];
    const cpuSeconds = typeof a === 'number' && typeof b === 'number' ? b - a : typeof a === 'object' && typeof b === 'object' ? treeCpuBetween(a, b) : NaN;
    return Number.isFinite(cpuSeconds) ? [{ process: t.name, cpuSeconds, cores: cpuSeconds / seconds }] : [];
  });
}
