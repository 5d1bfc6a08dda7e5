/**
 * The twin's exit code and its in-process target, without a long run:
 *  - `--check`: main() against a stand-in order service (--base-url) whose unrelated endpoints fail — a crossed
 *    threshold exits 1 with --check and 0 without; a healthy stand-in exits 0 with --check. The run is real
 *    otherwise (the latency toxic goes on the kafka proxy and comes off again), just short: 0 ms, one order.
 *  - the system a load test starts in-process has no relay /metrics server on the fixed RELAY_PORT (9464), which
 *    belongs to `npm start`'s relay: the two must be able to run at the same time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../pool-exhaustion.ts';
import { Cleanup, type PoolLoadReport } from '../src/index.ts';
import { resolveTarget } from '../src/target.ts';
import { pidListeningOn } from '../../packages/stack/src/net.ts';
import { useIsolatedSystem } from './isolated.ts';

const { lab, config, isolated } = useIsolatedSystem();

/** A stand-in order service: /health and orders answer; login and product search answer 200, or 503 DW_DB_POOL_EXHAUSTED when `exhausted`. */
async function standInService(exhausted: boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/health') return send(200, { status: 'ok' });
      if (req.url?.startsWith('/api/v1/orders')) return send(201, { order: { id: 'o-1' }, eventId: 'e-1' });
      if (exhausted) return send(503, { code: 'DW_DB_POOL_EXHAUSTED', message: 'no connection became free in time' });
      return send(200, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const reportFiles: string[] = [];
afterEach(() => {
  for (const f of reportFiles.splice(0)) rmSync(f, { force: true });
  vi.restoreAllMocks();
});

/** main() in this process, with its JSON report captured; the signal handlers it installs are removed again. */
async function twin(args: string[]): Promise<{ code: number; report: PoolLoadReport }> {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main([...args, '--latency-ms', '0', '--burst', '1', '--probes', '1', '--no-lock', '--json']);
    const report = JSON.parse(printed.join('\n')) as PoolLoadReport;
    reportFiles.push(report.file);
    return { code, report };
  } finally {
    vi.restoreAllMocks();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const l of process.listeners(signal)) if (!before[signal].includes(l)) process.off(signal, l);
    }
  }
}

describe('npm run loadtest -- pool-exhaustion --check', () => {
  it('exits 1 when a threshold is crossed, 0 without --check, and 0 with --check when none is', async () => {
    const sick = await standInService(true);
    try {
      const checked = await twin(['--base-url', sick.url, '--check']);
      expect(checked.report.thresholds.map((t) => t.ok)).toContain(false);
      expect(checked.code).toBe(1);
      const unchecked = await twin(['--base-url', sick.url]);
      expect(unchecked.report.thresholds.map((t) => t.ok)).toContain(false);
      expect(unchecked.code).toBe(0);
    } finally {
      await sick.close();
    }
    const healthy = await standInService(false);
    try {
      const checked = await twin(['--base-url', healthy.url, '--check']);
      expect(checked.report.thresholds.map((t) => t.ok)).toEqual([true, true]);
      expect(checked.code).toBe(0);
    } finally {
      await healthy.close();
    }
    // Each run put its latency toxic on the kafka proxy and took it off again.
    expect(await lab.toxics.list('kafka')).toEqual([]);
  });
});

describe('the in-process target of a load test', () => {
  it('starts no relay /metrics server on the fixed RELAY_PORT (9464), so it can run next to `npm start`', async () => {
    expect(config.relay.port).toBe(9464);
    const cleanup = new Cleanup();
    try {
      const url = await resolveTarget({ config, system: isolated('relay-port'), cleanup, progress: () => {} });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      // Had its relay bound 9464, this process would be listening there (or, with 9464 taken, it would not have started).
      expect(pidListeningOn(config.relay.port)).not.toBe(process.pid);
    } finally {
      expect(await cleanup.runAll()).toEqual([]);
    }
  });
});
