/**
 * The cleanup guarantee, with chaos scripts as child processes against the real Toxiproxy: the toxic goes
 * when --for ends, on SIGINT (also sent twice), after a kill -9 (by `clear`, or by the next chaos run), and a
 * run without --no-lock waits for the lab lock this file holds. Plus --help, bad arguments and `list`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { runChaos, startChaos, whileFrozen } from './child.ts';

const lab = useLab({ database: false });
const recordOf = (pid: number) => path.join(lab.config.stackDir, 'run', `chaos-${pid}.json`);

describe('the toxic is always removed', () => {
  it('when --for ends: exit 0, "added" then "removed" with timestamps', async () => {
    const run = startChaos(['kafka-latency', '--ms', '200', '--for', '1500ms', '--no-lock']);
    await run.line(/added: latency 200 ms/);
    expect(await whileFrozen(run, () => lab.toxics.list('kafka'))).toEqual([`chaos_kafka-latency_${run.pid}_1`]);
    expect((await run.exited).code).toBe(0);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    const lines = run.stdout().trim().split('\n');
    expect(lines.some((l) => /Z \[chaos\] holding for 1500 ms…/.test(l))).toBe(true);
    expect(lines.findIndex((l) => l.includes('added:'))).toBeLessThan(lines.findIndex((l) => l.includes('removed:')));
    expect(existsSync(recordOf(run.pid))).toBe(false);
  });

  it('on SIGINT (Ctrl-C): exit 130', async () => {
    const run = startChaos(['kafka-latency', '--ms', '500', '--no-lock']);
    await run.line(/added: /);
    expect(await lab.toxics.list('kafka')).toHaveLength(1);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect(run.stdout()).toContain('SIGINT: removing what this run added');
    expect(run.stdout()).toMatch(/removed: latency 500 ms/);
  });

  it('when a second signal follows the first: the cleanup is not skipped', async () => {
    const run = startChaos(['db-latency', '--ms', '100', '--no-lock']);
    await run.line(/added: /);
    // Frozen while the signals are sent, so all of them are pending when it resumes: the cleanup the first one
    // starts (HTTP calls to Toxiproxy) cannot finish before the next one is handled, however the scheduler runs
    // the two processes. (Two pending SIGINTs may be merged into one by the kernel; the SIGTERM is not.)
    run.child.kill('SIGSTOP');
    run.child.kill('SIGINT');
    run.child.kill('SIGINT');
    run.child.kill('SIGTERM');
    run.child.kill('SIGCONT');
    // Signals pending together may be handled in either order: the first one handled sets the exit code.
    const exited = await run.exited;
    expect(exited.signal).toBeNull();
    expect([130, 143]).toContain(exited.code);
    expect(await lab.toxics.list('postgres')).toEqual([]);
    expect(run.stdout()).toMatch(/removed: latency 100 ms/);
    expect(run.stdout()).toMatch(/again: still cleaning up/);
  });

  it('after kill -9: `clear` removes the dead process’s toxic and its record, and says so', async () => {
    const run = startChaos(['kafka-latency', '--ms', '700', '--no-lock']);
    await run.line(/added: /);
    const name = `chaos_kafka-latency_${run.pid}_1`;
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(await lab.toxics.list('kafka')).toEqual([name]); // left behind: nothing ran in the killed process
    expect(existsSync(recordOf(run.pid))).toBe(true);

    const clear = await runChaos(['clear']);
    expect(clear.code).toBe(0);
    expect(clear.stdout).toMatch(new RegExp(`Z \\[chaos\\] removed: latency latency=700 jitter=0 \\(downstream\\) on the kafka proxy — ${name}, from chaos kafka-latency \\(pid ${run.pid}, no longer running\\)`));
    expect(clear.stdout).toContain(`deleted the record of chaos kafka-latency (pid ${run.pid}`);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect(existsSync(recordOf(run.pid))).toBe(false);
  });

  it('after kill -9 of a proxy-disabling run: `clear` re-enables the proxy', async () => {
    const run = startChaos(['db-down', '--no-lock']);
    await run.line(/added: /);
    run.child.kill('SIGKILL');
    await run.exited;
    expect((await lab.toxics.proxy('postgres')).enabled).toBe(false);
    const clear = await runChaos(['clear']);
    expect(clear.stdout).toContain(`re-enabled the postgres proxy, disabled by chaos db-down (pid ${run.pid})`);
    expect((await lab.toxics.proxy('postgres')).enabled).toBe(true);
  });

  it('after kill -9: the next chaos run removes the leftovers before adding its own', async () => {
    const dead = startChaos(['kafka-down', '--no-lock']);
    await dead.line(/added: /);
    const deadToxic = startChaos(['db-latency', '--ms', '50', '--no-lock']);
    await deadToxic.line(/added: /);
    dead.child.kill('SIGKILL');
    deadToxic.child.kill('SIGKILL');
    await Promise.all([dead.exited, deadToxic.exited]);
    expect((await lab.toxics.proxy('kafka')).enabled).toBe(false);

    const next = await runChaos(['kafka-bandwidth', '--kbps', '64', '--for', '100ms', '--no-lock']);
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(`re-enabled the kafka proxy, left by chaos kafka-down (pid ${dead.pid}, no longer running)`);
    expect(next.stdout).toContain(`removed chaos_db-latency_${deadToxic.pid}_1 from the postgres proxy, left by chaos db-latency (pid ${deadToxic.pid}`);
    expect((await lab.toxics.proxy('kafka')).enabled).toBe(true);
    expect(await lab.toxics.list('postgres')).toEqual([]);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect(existsSync(recordOf(dead.pid))).toBe(false);
    expect(existsSync(recordOf(deadToxic.pid))).toBe(false);
  });
});

describe('the lab lock', () => {
  it('a run without --no-lock waits while a test holds the lock, adds nothing, and stops cleanly on SIGTERM', async () => {
    const run = startChaos(['kafka-latency', '--ms', '500']);
    await run.line(/waiting for the lab lock/);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(143);
    expect(run.stdout()).not.toContain('added:');
    expect(await lab.toxics.list('kafka')).toEqual([]);
  });
});

describe('the command line', () => {
  it.each(['--help', 'kafka-latency --help', 'kafka-down --help', 'kafka-slow-close --help', 'kafka-bandwidth --help', 'db-drop --help', 'db-latency -h', 'db-down --help', 'clear --help', 'list --help'])(
    '%s exits 0 with a usage text',
    async (args) => {
      const r = await runChaos(args.split(' '));
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: npm run chaos -- /);
    },
  );

  it('bad arguments exit 2 with a DwError and the fix', async () => {
    const unitless = await runChaos(['kafka-latency', '--for', '30']);
    expect(unitless.code).toBe(2);
    expect(unitless.stderr).toContain('[DW_CONFIG_INVALID] --for "30" is not a duration (add a unit: 30s, 30ms or 30m)');
    const negative = await runChaos(['db-latency', '--ms', '-5']);
    expect(negative.code).toBe(2);
    const unknown = await runChaos(['kafka-explode']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown chaos script "kafka-explode"');
    const noScript = await runChaos([]);
    expect(noScript.code).toBe(2);
  });

  it('list shows the proxies, a running chaos process and its toxic', async () => {
    const run = startChaos(['kafka-slow-close', '--delay-ms', '900', '--no-lock']);
    await run.line(/added: /);
    const list = await runChaos(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('postgres proxy: enabled');
    expect(list.stdout).toContain('kafka proxy: enabled');
    expect(list.stdout).toContain(`chaos_kafka-slow-close_${run.pid}_1: slow_close delay=900 (downstream)`);
    expect(list.stdout).toMatch(new RegExp(`pid ${run.pid} kafka-slow-close since .* — running: chaos_kafka-slow-close_${run.pid}_1 on kafka`));
    run.child.kill('SIGINT');
    await run.exited;
    expect(await lab.toxics.list('kafka')).toEqual([]);
  });
});
