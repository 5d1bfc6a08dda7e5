/**
 * The command lines: the brief's `node tests/test-bad-scenario-connection-pool-exhaustion.js`, the
 * `loadtest` task of scripts/run.mjs, and the twin's flags (which mirror the k6 script's environment).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DwError, findRepoRoot, resolveConfig, WRITE_STRATEGIES } from '@dual-write/config';
import { acquireLabLock } from '@dual-write/faults';
import { main } from '../pool-exhaustion.ts';
import { Cleanup, errorKind, ordersHelp, parseOrdersArgs, parsePoolArgs, PROFILES } from '../src/index.ts';
import { loadK6Script } from './k6/load.ts';

const ROOT = findRepoRoot();

function invalid(argv: string[]): DwError {
  try {
    parsePoolArgs(argv);
  } catch (err) {
    if (err instanceof DwError) return err;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('node tests/test-bad-scenario-connection-pool-exhaustion.js', () => {
  it('--help exits 0 and prints the twin’s usage', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'tests', 'test-bad-scenario-connection-pool-exhaustion.js'), '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: npm run loadtest -- pool-exhaustion [options]');
    expect(r.stdout).toContain('--latency-ms');
    expect(r.stdout).toContain('--check');
  });

  it('is plain JavaScript with no dependency beyond Node', () => {
    const source = readFileSync(path.join(ROOT, 'tests', 'test-bad-scenario-connection-pool-exhaustion.js'), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.every((s) => s!.startsWith('node:'))).toBe(true);
  });
});

describe('npm run loadtest', () => {
  it('refuses an unknown load test and lists the ones there are', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run.mjs'), 'loadtest', 'pool-exhuastion'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown load test "pool-exhuastion"');
    expect(r.stderr).toContain('pool-exhaustion');
    expect(r.stderr).not.toContain('vitest.config');
  });

  it('is a root npm script and in run.mjs’s help', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.loadtest).toBe('node scripts/run.mjs loadtest');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run.mjs'), '--help'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^ {2}loadtest <name> /m);
  });
});

describe('the twin’s flags', () => {
  it('default to the k6 script’s defaults', async () => {
    const args = parsePoolArgs([]);
    expect(args).toMatchObject({ strategy: 'naive', latencyMs: 5000, burst: 20, probes: 4, json: false, check: false, lock: true, baseUrl: undefined });
    const k6 = await loadK6Script(path.join(ROOT, 'loadtests', 'pool-exhaustion.js'));
    const scenarios = k6.options.scenarios as Record<string, { vus: number; duration?: string }>;
    expect(scenarios.orders!.vus).toBe(args.burst);
    expect(scenarios.unrelated!.vus).toBe(args.probes);
    expect(scenarios.unrelated!.duration).toBe(`${args.latencyMs + 1000}ms`);
  });

  it('take the values the k6 script takes from its environment', () => {
    expect(parsePoolArgs(['--base-url', 'http://localhost:3000/', '--strategy', 'naive-after-commit', '--latency-ms', '3000', '--burst=12', '--json', '--check', '--no-lock'])).toMatchObject({
      baseUrl: 'http://localhost:3000',
      strategy: 'naive-after-commit',
      latencyMs: 3000,
      burst: 12,
      json: true,
      check: true,
      lock: false,
    });
  });

  it('--compare runs both strategies, so it refuses --strategy', () => {
    expect(parsePoolArgs(['--compare', '--latency-ms', '2000'])).toMatchObject({ compare: true, latencyMs: 2000 });
    expect(parsePoolArgs([]).compare).toBe(false);
    expect(invalid(['--compare', '--strategy', 'outbox']).message).toContain('--compare');
  });

  it('accept exactly the order service’s write strategies (@dual-write/config WRITE_STRATEGIES)', () => {
    for (const s of WRITE_STRATEGIES) expect(parsePoolArgs(['--strategy', s]).strategy).toBe(s);
    const err = invalid(['--strategy', 'eventually']);
    expect(err.code).toBe('DW_CONFIG_INVALID');
    expect(err.message).toContain(`one of ${WRITE_STRATEGIES.join(', ')}`);
    expect(parsePoolArgs(['--strategy', 'outbox']).strategy === 'outbox').toBe((WRITE_STRATEGIES as readonly string[]).includes('outbox'));
  });

  it('refuse bad values with DW_CONFIG_INVALID, and main() exits 2 on them', async () => {
    expect(invalid(['--burst', '0']).message).toContain('--burst');
    expect(invalid(['--latency-ms', '5s']).message).toContain('--latency-ms');
    expect(invalid(['--base-url', 'localhost:3000']).message).toContain('--base-url');
    expect(invalid(['--bursts', '3']).code).toBe('DW_CONFIG_INVALID');
    expect(await main(['--strategy', 'nope'])).toBe(2);
    expect(await main(['--help'])).toBe(0);
  });
});

describe('the order-load twins’ flags (orders-steady, orders-burst)', () => {
  it('default to the k6 scripts’ defaults, --short to a few seconds, and refuse bad values', () => {
    const steady = PROFILES['orders-steady'];
    expect(parseOrdersArgs(steady, [])).toMatchObject({ strategy: 'outbox', malformedShare: 0.1, short: false, rates: { rate: 50, 'duration-s': 30 } });
    expect(parseOrdersArgs(steady, ['--short', '--rate', '30'])).toMatchObject({ short: true, rates: { rate: 30, 'duration-s': 2 } });
    const burst = PROFILES['orders-burst'];
    expect(parseOrdersArgs(burst, ['--malformed-pct', '0', '--base-url', 'http://localhost:3000/'])).toMatchObject({ malformedShare: 0, baseUrl: 'http://localhost:3000', rates: { 'base-rate': 10, 'peak-rate': 200, bursts: 3 } });
    for (const bad of [['--malformed-pct', '101'], ['--rate', '0'], ['--strategy', 'nope'], ['--peak-rate', '5']]) expect(() => parseOrdersArgs(steady, bad)).toThrow(DwError);
    expect(() => parseOrdersArgs(burst, ['--rate', '5'])).toThrow(DwError);
    for (const p of Object.values(PROFILES)) expect(ordersHelp(p)).toContain(`Usage: npm run loadtest -- ${p.name} [options]`);
  });
});

describe('pieces of the twin', () => {
  it('the lab lock is exclusive across connections: a second holder waits until the first releases', async () => {
    const config = resolveConfig();
    const first = await acquireLabLock(config, () => {});
    let waited = false;
    let acquired = false;
    const second = acquireLabLock(config, () => {
      waited = true;
    }).then((release) => {
      acquired = true;
      return release;
    });
    // The second caller reports that it waits (an event) and has not got the lock while the first holds it.
    await expect.poll(() => waited).toBe(true);
    expect(acquired).toBe(false);
    await first();
    const release = await second;
    expect(acquired).toBe(true);
    await release();
  });

  it('maps loadgen’s error keys to the k6 script’s kinds', () => {
    expect(['DW_DB_POOL_EXHAUSTED', 'HTTP 503', 'HTTP 404', 'client timeout', 'network: fetch failed'].map(errorKind)).toEqual(['DW_DB_POOL_EXHAUSTED', 'HTTP_5xx', 'HTTP_4xx', 'timeout', 'network']);
  });

  it('cleanup runs each step once, newest first, past a failing one', async () => {
    const c = new Cleanup();
    const ran: string[] = [];
    c.defer('a', async () => void ran.push('a'));
    const early = c.defer('b', async () => void ran.push('b'));
    c.defer('c', async () => {
      ran.push('c');
      throw new Error('boom');
    });
    await early();
    await early();
    const [errors, again] = await Promise.all([c.runAll(), c.runAll()]);
    expect(ran).toEqual(['b', 'c', 'a']);
    expect(errors.map((e) => e.message)).toEqual(['c: boom']);
    expect(again).toBe(errors);
  });
});
