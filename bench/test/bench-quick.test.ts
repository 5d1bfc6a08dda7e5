/**
 * `npm run bench -- --quick` proves the harness works (CI): it runs as a child process on the real stack, exits 0,
 * writes results.json with every requested section, report.md and the SVG charts, and every section's audit
 * found nothing lost. Benchmarks are not tests: no figure is asserted, only that the run completed.
 *
 * No useLab() here: the benchmark takes the lab lock itself (a test holding it would make the child wait forever).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECTIONS = ['drain', 'latency', 'api-throughput', 'pool-health', 'scale-out', 'profile'];
const out = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Results {
  mode: string;
  command: string;
  machine: { cpus: number; memoryGiB: number };
  versions: { node: string; postgresql: string; kafka: string };
  git: { commit: string };
  settings: Record<string, unknown>;
  sections: { id: string; status: string; lost?: number; charts?: { file: string }[]; error?: string }[];
  lost: number;
}

describe('npm run bench -- --quick', () => {
  it('completes, writes results.json + report.md + SVG charts, and nothing is lost', async () => {
    const r = await runBench(['--quick', '--only', SECTIONS.join(','), '--out', out]);
    if (r.code !== 0) console.error(r.stderr.slice(-4000));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[bench +\d+ s\] ── Drain/); // progress lines on stderr

    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as Results;
    expect(results.mode).toBe('quick');
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.memoryGiB).toBeGreaterThan(0);
    expect(results.versions.postgresql).toMatch(/^\d+/);
    expect(results.versions.kafka).toMatch(/^\d+/);
    expect(results.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(results.sections.map((s) => s.id)).toEqual(SECTIONS);
    for (const s of results.sections) {
      expect({ id: s.id, status: s.status, error: s.error }).toEqual({ id: s.id, status: 'ok', error: undefined });
      expect({ id: s.id, lost: s.lost }).toEqual({ id: s.id, lost: 0 });
    }
    expect(results.lost).toBe(0);

    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('## Ratios');
    for (const title of ['Drain', 'Latency', 'Scale-out']) expect(report).toContain(title);
    const svgs = readdirSync(out).filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThan(0);
    for (const f of svgs) expect(readFileSync(path.join(out, f), 'utf8')).toMatch(/^<svg /);
    expect(existsSync(path.join(out, 'profile'))).toBe(true);
  }, 900_000);

  it('--help exits 0 and names the sections; an unknown section is a usage error (exit 2)', async () => {
    const help = await runBench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--quick');
    expect(help.stdout).toContain('drain, latency');
    const bad = await runBench(['--only', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown section nope');
  }, 120_000);
});
