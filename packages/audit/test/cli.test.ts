import { spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { AuditReport } from '../src/index.ts';
import { ordersTable, produce } from './fixtures.ts';

const lab = useLab();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from the repository root, as `npm run audit` does; fails the test if it does not exit by itself. */
function cli(args: string[]): Promise<Run> {
  const root = lab.config.repoRoot;
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['packages/audit/src/cli.ts', ...args], { cwd: root, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the audit CLI did not exit within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

let clean = '';
let diverging = '';
const target = () => ['--database-url', lab.db.url, '--brokers', lab.config.kafka.brokers.join(','), '--grace-ms', '600000'];

describe('the audit CLI', () => {
  beforeAll(async () => {
    await ordersTable(lab, 'orders', [{ id: 'o-1' }, { id: 'o-2' }, { id: 'o-lost' }]);
    clean = await lab.topic('clean', 2);
    diverging = await lab.topic('diverging', 2);
    const ok = [
      { partition: 0, key: 'o-1', value: { orderId: 'o-1' }, headers: { id: 'e-1' } },
      { partition: 1, key: 'o-2', value: { orderId: 'o-2' }, headers: { id: 'e-2' } },
      { partition: 1, key: 'o-lost', value: { orderId: 'o-lost' }, headers: { id: 'e-3' } },
    ];
    await produce(lab, clean, ok);
    await produce(lab, diverging, [
      ok[0]!,
      ok[1]!,
      ok[1]!, // a duplicate of e-2
      { partition: 0, key: 'o-ghost', value: { orderId: 'o-ghost' }, headers: { id: 'e-ghost' } },
    ]); // and o-lost is a black hole
  });

  it('exits 1 when the table and the topic diverge, and prints the findings as a table', async () => {
    const r = await cli([...target(), '--topic', diverging, '--table', 'orders', '--entity-id', 'json:orderId', '--event-id', 'header:id']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/ghosts\s+1/);
    expect(r.stdout).toMatch(/black holes\s+1/);
    expect(r.stdout).toMatch(/duplicates\s+1/);
    expect(r.stdout).toMatch(/o-ghost\s+e-ghost\s+0\s+1/);
    expect(r.stdout).toContain('Result: DIVERGES');
    expect(r.stderr).toContain('[audit] partition 1 done');
  });

  it('--json prints the whole report as JSON on stdout (progress stays on stderr)', async () => {
    const r = await cli([...target(), '--topic', diverging, '--entity-id', 'json:orderId', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.ghosts).toEqual([{ entityId: 'o-ghost', eventId: 'e-ghost', partition: 0, offset: 1 }]);
    expect(report.blackHoles.map((b) => b.id)).toEqual(['o-lost']);
    expect(report.duplicates).toEqual([{ eventId: 'e-2', count: 2, deliveries: [{ partition: 1, offset: 0 }, { partition: 1, offset: 1 }] }]);
    expect(report.source.table).toBe('public.orders');
  });

  it('exits 0 when they agree', async () => {
    const r = await cli([...target(), '--topic', clean, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.counts).toMatchObject({ rows: 3, messages: 3, ghosts: 0, blackHoles: 0, duplicates: 0 });
  });

  it('exits 2 with a coded error for a missing table and for a missing topic', async () => {
    const table = await cli([...target(), '--topic', clean, '--table', 'sales.nothing_here']);
    expect(table.code).toBe(2);
    expect(table.stderr).toContain('[DW_AUDIT_SOURCE_MISSING] Table "sales.nothing_here" does not exist');
    expect(table.stderr).toContain('public.orders');

    const topic = await cli([...target(), '--topic', `t.${lab.id}.nothing-here`]);
    expect(topic.code).toBe(2);
    expect(topic.stderr).toContain(`[DW_AUDIT_SOURCE_MISSING] Topic "t.${lab.id}.nothing-here" does not exist`);
    expect(topic.stderr).toContain(clean);
    expect(topic.stdout).toBe('');
  });

  it('exits 2 on a usage error, and --help prints the usage', async () => {
    const bad = await cli(['--grace-ms', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[DW_CONFIG_INVALID] --grace-ms "soon" is not valid');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run audit');
    expect(help.stdout).toContain('--entity-id <source>');
  });
});
