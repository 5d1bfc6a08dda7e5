/**
 * `npm run stack -- logs [service] [-n N]` (node scripts/run.mjs stack logs …) on a STACK_DIR of the test's own,
 * whose log files it wrote: the exact last N lines of each service's log, a "(no log yet)" for a service without
 * one, and exit 2 naming the services for an unknown one.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRepoRoot } from '@dual-write/config';

const ROOT = findRepoRoot();
const stackDir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-logs-'));
const kafkaLog = path.join(stackDir, 'logs', 'kafka.log');
mkdirSync(path.dirname(kafkaLog), { recursive: true });
writeFileSync(kafkaLog, Array.from({ length: 50 }, (_, i) => `kafka line ${i + 1}`).join('\n') + '\n');
afterAll(() => rmSync(stackDir, { recursive: true, force: true }));

function stack(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/run.mjs'), 'stack', ...args], { cwd: ROOT, env: { ...process.env, STACK_DIR: stackDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run stack -- logs', () => {
  it('prints the last N lines of each service’s log under its path; a service without a log says so', async () => {
    const r = await stack(['logs', '-n', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').filter((l) => l !== '')).toEqual([
      `==> ${path.join(stackDir, 'logs', 'toxiproxy.log')} <==`,
      '(no log yet)',
      `==> ${path.join(stackDir, 'logs', 'postgres.log')} <==`,
      '(no log yet)',
      `==> ${kafkaLog} <==`,
      'kafka line 48',
      'kafka line 49',
      'kafka line 50',
    ]);
  });

  it('refuses an unknown service with exit 2, naming the services there are', async () => {
    const r = await stack(['logs', 'zookeeper']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown service zookeeper; choose from toxiproxy, postgres, kafka');
    expect(r.stdout).toBe('');
  });
});
