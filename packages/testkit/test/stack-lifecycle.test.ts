/**
 * `stack up` / `down` on a second, independent stack (own folder, own ports), so the stack the other
 * tests use is never disturbed. Downloads are shared through STACK_CACHE_DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { isAlive, stackDown, stackStatus, stackUp } from '@dual-write/stack';

const main = resolveConfig();
const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-'));
const config = resolveConfig({
  STACK_DIR: dir,
  STACK_CACHE_DIR: main.cacheDir,
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:55420/dual_write',
  POSTGRES_MANAGED: 'true',
  POSTGRES_PROXY_PORT: 55421,
  KAFKA_BROKERS: '127.0.0.1:39092',
  KAFKA_MANAGED: 'true',
  KAFKA_CONTROLLER_PORT: 39093,
  KAFKA_PROXIED_LISTENER_PORT: 39094,
  KAFKA_PROXY_PORT: 39095,
  TOXIPROXY_URL: 'http://127.0.0.1:18474',
});

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
});

describe('stack up / down', () => {
  const pids: number[] = [];

  it('up starts toxiproxy, postgres and kafka and reports where each listens', async () => {
    const statuses = await stackUp({ config });
    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ['toxiproxy', 'running'],
      ['postgres', 'running'],
      ['kafka', 'running'],
    ]);
    for (const s of statuses) pids.push(s.pid!);
    expect(statuses.find((s) => s.name === 'kafka')!.listens.join(' ')).toContain('127.0.0.1:39095');
  });

  it('up a second time is a no-op: same processes, nothing started', async () => {
    const lines: string[] = [];
    const statuses = await stackUp({ config, progress: (l) => lines.push(l) });
    expect(statuses.map((s) => s.pid)).toEqual(pids);
    expect(lines.filter((l) => /started|initdb|formatting|fetching|go install/.test(l))).toEqual([]);
    expect(lines.filter((l) => l.includes('already running'))).toHaveLength(3);
  });

  it('down stops every process it started and nothing else', async () => {
    const { stopped, leftRunning } = await stackDown({ config });
    expect(stopped.sort()).toEqual(['kafka', 'postgres', 'toxiproxy']);
    expect(leftRunning).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect((await stackStatus({ config })).map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
    // The main stack, which this one shares a machine with, is untouched.
    expect((await stackStatus({ config: main })).map((s) => s.state)).not.toContain('stopped');
  });
});
