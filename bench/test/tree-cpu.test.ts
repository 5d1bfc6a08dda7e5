/**
 * A process tree's CPU between two samples (PostgreSQL: the postmaster and its backends, which come and go).
 * Pure arithmetic over /proc figures, so the samples are written out here.
 */
import { describe, expect, it } from 'vitest';
import { treeCpuBetween, type TreeSample } from '../src/lib/proc.ts';

const sample = (perPid: Record<number, number>, rootChildrenCpu: number): TreeSample => ({
  root: 1,
  perPid: new Map(Object.entries(perPid).map(([pid, cpu]) => [Number(pid), cpu])),
  rootChildrenCpu,
});

describe('treeCpuBetween', () => {
  it('adds what each live process used since the first sample, a new one from zero', () => {
    expect(treeCpuBetween(sample({ 1: 10, 2: 5 }, 0), sample({ 1: 11, 2: 7, 3: 0.5 }, 0))).toBeCloseTo(3.5);
  });

  it('counts a backend that exited in between once: its reaped lifetime less what the first sample had seen', () => {
    // pid 2 had used 40 s when first sampled, used 1 s more and exited: the postmaster's children time grew by 41.
    expect(treeCpuBetween(sample({ 1: 10, 2: 40 }, 100), sample({ 1: 10 }, 141))).toBeCloseTo(1);
  });

  it('counts a process born and gone between the samples by its reaped time', () => {
    expect(treeCpuBetween(sample({ 1: 10 }, 100), sample({ 1: 10 }, 100.25))).toBeCloseTo(0.25);
  });
});
