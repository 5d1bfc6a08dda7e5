/**
 * `stack up` / `down` on a second, independent stack (own folder, own ports), so the stack the other
 * tests use is never disturbed. Downloads are shared through STACK_CACHE_DIR. Starting a second Kafka and
 * PostgreSQL loads the machine every test shares, so the file holds the lab lock like the other files that
 * start, stop or fault services; each test brings the second stack to the state it needs itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { isAlive, stackDown, stackStatus, stackUp } from '@dual-write/stack';
import { useLab } from '../src/index.ts';

useLab({ database: false });

const main = resolveConfig();
const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-'));
const config = resolveConfig({
  STACK_DIR: dir,
  STACK_CACHE_DIR: main.cacheDir,
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:25420/dual_write',
  POSTGRES_MANAGED: 'true',
  POSTGRES_PROXY_PORT: 25421,
  KAFKA_BROKERS: '127.0.0.1:29192',
  KAFKA_MANAGED: 'true',
  KAFKA_CONTROLLER_PORT: 29193,
  KAFKA_PROXIED_LISTENER_PORT: 29194,
  KAFKA_PROXY_PORT: 29195,
  TOXIPROXY_URL: 'http://127.0.0.1:18474',
  PGBOUNCER: false, // the optional pooler has a test of its own (packages/stack/test/pgbouncer.test.ts)
});

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
});

describe('stack up / down', () => {
  it('up starts toxiproxy, postgres and kafka and reports where each listens', async () => {
    await stackDown({ config }); // from nothing running
    const lines: string[] = [];
    const statuses = await stackUp({ config, progress: (l) => lines.push(l) });
    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ['toxiproxy', 'running'],
      ['postgres', 'running'],
      ['kafka', 'running'],
    ]);
    expect(statuses.every((s) => s.pid !== undefined && isAlive(s.pid))).toBe(true);
    expect(lines.filter((l) => /: started \(pid \d+\)/.test(l))).toHaveLength(3);
    expect(statuses.find((s) => s.name === 'kafka')!.listens.join(' ')).toContain('127.0.0.1:29195');
  });

  it('up a second time is a no-op: same processes, nothing started', async () => {
    const pids = (await stackUp({ config })).map((s) => s.pid);
    expect(pids.every((p) => p !== undefined)).toBe(true);
    const lines: string[] = [];
    const statuses = await stackUp({ config, progress: (l) => lines.push(l) });
    expect(statuses.map((s) => s.pid)).toEqual(pids);
    expect(lines.filter((l) => /started|initdb|formatting|fetching|go install/.test(l))).toEqual([]);
    expect(lines.filter((l) => l.includes('already running'))).toHaveLength(3);
  });

  it('down stops every process it started and nothing else', async () => {
    const pids = (await stackUp({ config })).map((s) => s.pid!);
    expect(pids.filter(isAlive)).toHaveLength(3);
    const { stopped, leftRunning } = await stackDown({ config });
    expect(stopped.sort()).toEqual(['kafka', 'postgres', 'toxiproxy']);
    expect(leftRunning).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect((await stackStatus({ config })).map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
    // The main stack, which this one shares a machine with, is untouched.
    expect((await stackStatus({ config: main })).map((s) => s.state)).not.toContain('stopped');
  });
});
