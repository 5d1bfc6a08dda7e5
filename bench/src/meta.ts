/** What every result records: the machine (cores, memory, load), the versions, the git commit and the settings. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config, withClient } from './lib/common.ts';

const require = createRequire(import.meta.url);
const BENCH_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A dependency's version from its package.json (this package's node_modules first: some packages do not export package.json). */
function pkgVersion(name: string): string {
  const candidates = [path.join(BENCH_ROOT, 'node_modules', name, 'package.json')];
  try {
    candidates.push(require.resolve(`${name}/package.json`));
  } catch {
    /* not exported */
  }
  for (const file of candidates) {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      /* next */
    }
  }
  return 'unknown';
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: config.repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiBAtStart: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  platform: string;
  kernel: string;
}

export interface Versions {
  node: string;
  postgresql: string;
  kafka: string;
  kafkajs: string;
  pg: string;
  vega: string;
  vegaLite: string;
}

export interface GitInfo {
  commit: string;
  branch: string;
  /** Files changed but not committed when the run started (0 = the commit is exactly what ran). */
  uncommittedFiles: number;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    freeMemoryGiBAtStart: Number((os.freemem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    platform: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
  };
}

export async function versions(): Promise<Versions> {
  const postgresql = await withClient(config.database.url, async (c) => (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v).catch((err: Error) => `unknown (${err.message})`);
  return {
    node: process.version,
    postgresql,
    kafka: config.kafka.version,
    kafkajs: pkgVersion('kafkajs'),
    pg: pkgVersion('pg'),
    vega: pkgVersion('vega'),
    vegaLite: pkgVersion('vega-lite'),
  };
}

export function gitInfo(): GitInfo {
  const status = git('status', '--porcelain');
  return {
    commit: git('rev-parse', 'HEAD') ?? 'unknown',
    branch: git('rev-parse', '--abbrev-ref', 'HEAD') ?? 'unknown',
    uncommittedFiles: status === undefined ? -1 : status.split('\n').filter(Boolean).length,
  };
}

/** The lab's settings that shape the figures. */
export function settings(): Record<string, unknown> {
  return {
    connections: 'direct (no Toxiproxy)',
    database: new URL(config.database.url).host,
    brokers: config.kafka.brokers.join(','),
    relay: { batchSize: config.relay.batchSize, pollIntervalMs: config.relay.pollIntervalMs, slots: config.relay.slots, poolMax: config.relay.poolMax, listen: config.relay.listen },
  };
}
