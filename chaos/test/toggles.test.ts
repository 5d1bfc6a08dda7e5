/**
 * Each chaos toggle against the real Toxiproxy, run as `node --import tsx chaos/src/cli.ts …`: it adds the
 * right toxic with the right attributes (or disables the right proxy), records it in STACK_DIR/run, and
 * removes it on SIGTERM. useLab holds the lab lock, so the children run with --no-lock.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { startChaos } from './child.ts';

const lab = useLab({ database: false });
const recordOf = (pid: number) => path.join(lab.config.stackDir, 'run', `chaos-${pid}.json`);

const TOXIC_CASES = [
  { args: ['kafka-latency', '--ms', '500', '--jitter', '50'], proxy: 'kafka', type: 'latency', stream: 'downstream', attributes: { latency: 500, jitter: 50 } },
  { args: ['kafka-slow-close', '--delay-ms', '1500'], proxy: 'kafka', type: 'slow_close', stream: 'downstream', attributes: { delay: 1500 } },
  { args: ['kafka-bandwidth', '--kbps', '8'], proxy: 'kafka', type: 'bandwidth', stream: 'downstream', attributes: { rate: 8 } },
  { args: ['db-drop', '--timeout-ms', '250'], proxy: 'postgres', type: 'reset_peer', stream: 'upstream', attributes: { timeout: 250 } },
  { args: ['db-latency', '--ms', '300', '--jitter', '0'], proxy: 'postgres', type: 'latency', stream: 'downstream', attributes: { latency: 300, jitter: 0 } },
] as const;

describe('toggles that add a toxic', () => {
  it.each(TOXIC_CASES)('$args.0 adds $type $attributes on the $proxy proxy and removes it on SIGTERM', async (c) => {
    const run = startChaos([...c.args, '--no-lock']);
    const added = await run.line(/added: /);
    const toxics = await lab.toxics.describe(c.proxy);
    expect(toxics).toHaveLength(1);
    const toxic = toxics[0]!;
    expect(toxic).toMatchObject({ type: c.type, stream: c.stream, toxicity: 1, attributes: c.attributes });
    expect(toxic.name).toBe(`chaos_${c.args[0]}_${run.pid}_1`);
    expect(added).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[chaos\] added: /);
    expect(added).toContain(toxic.name);
    // The other proxy is untouched.
    expect(await lab.toxics.list(c.proxy === 'kafka' ? 'postgres' : 'kafka')).toEqual([]);
    // Recorded before it went in, for `clear` after a crash.
    const record = JSON.parse(readFileSync(recordOf(run.pid), 'utf8'));
    expect(record).toMatchObject({ pid: run.pid, script: c.args[0], toxics: [{ proxy: c.proxy, name: toxic.name }], disabled: [] });

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 143, signal: null });
    expect(await lab.toxics.list(c.proxy)).toEqual([]);
    expect(run.stdout()).toMatch(new RegExp(`Z \\[chaos\\] removed: .*${toxic.name}`));
    expect(existsSync(recordOf(run.pid))).toBe(false);
  });
});

describe('toggles that disable a proxy', () => {
  it.each([
    { script: 'kafka-down', proxy: 'kafka' },
    { script: 'db-down', proxy: 'postgres' },
  ] as const)('$script disables the $proxy proxy and re-enables it on SIGTERM', async ({ script, proxy }) => {
    const run = startChaos([script, '--no-lock']);
    await run.line(/added: the .* proxy disabled/);
    expect((await lab.toxics.proxy(proxy)).enabled).toBe(false);
    expect((await lab.toxics.proxy(proxy === 'kafka' ? 'postgres' : 'kafka')).enabled).toBe(true);
    expect(JSON.parse(readFileSync(recordOf(run.pid), 'utf8'))).toMatchObject({ script, toxics: [], disabled: [proxy] });

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 143, signal: null });
    expect((await lab.toxics.proxy(proxy)).enabled).toBe(true);
    expect(run.stdout()).toMatch(/removed: the .* proxy disabled — it is enabled again/);
    expect(existsSync(recordOf(run.pid))).toBe(false);
  });
});
