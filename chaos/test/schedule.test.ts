/**
 * `chaos schedule <file>` against the real Toxiproxy: overlapping steps put their faults in place and take
 * them away in order, everything is gone at the end and on SIGTERM, and a bad file is refused with the step
 * at fault. chaos/schedules/demo.json is valid.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { parseSchedule, readSchedule } from '../src/index.ts';
import { ROOT, runChaos, startChaos, whileFrozen } from './child.ts';

const lab = useLab({ database: false });
const dir = mkdtempSync(path.join(tmpdir(), 'chaos-schedule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scheduleFile(name: string, body: unknown): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

describe('schedule', () => {
  it('plays overlapping steps: each fault goes in at its step and out at its end; nothing is left', async () => {
    const file = scheduleFile('overlap', {
      steps: [
        { at: '0s', toggle: 'kafka-latency', options: { ms: 400 }, for: '3s' },
        { at: '300ms', toggle: 'db-down', for: '1500ms' },
      ],
    });
    const run = startChaos(['schedule', file, '--no-lock']);
    await run.line(/added: the postgres proxy disabled/);
    // Step 2 is in place while step 1 still holds (looked at with the schedule frozen, so no step can end meanwhile).
    const live = await whileFrozen(run, async () => ({ kafka: await lab.toxics.list('kafka'), postgresEnabled: (await lab.toxics.proxy('postgres')).enabled }));
    expect(live).toEqual({ kafka: [`chaos_kafka-latency_${run.pid}_1`], postgresEnabled: false });
    await run.line(/removed: the postgres proxy disabled/);
    expect((await lab.toxics.proxy('postgres')).enabled).toBe(true);
    expect((await run.exited).code).toBe(0);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    const events = run.stdout().split('\n').filter((l) => /(added|removed): /.test(l)).map((l) => l.replace(/^.*\] /, '').replace(/ —.*$/, ''));
    expect(events).toEqual([
      'added: latency 400 ms ± 0 ms (downstream) on the kafka proxy',
      'added: the postgres proxy disabled (open connections closed, new ones refused)',
      'removed: the postgres proxy disabled',
      'removed: latency 400 ms ± 0 ms (downstream) on the kafka proxy',
    ]);
    expect(run.stdout()).toContain('schedule done');
  });

  it('SIGTERM in the middle removes what is in place and skips the steps to come', async () => {
    const file = scheduleFile('long', {
      steps: [
        { at: '0s', toggle: 'db-latency', options: { ms: 50 }, for: '1m' },
        { at: '50s', toggle: 'kafka-down', for: '5s' },
      ],
    });
    const run = startChaos(['schedule', file, '--no-lock']);
    await run.line(/added: /);
    expect(await lab.toxics.list('postgres')).toHaveLength(1);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(143);
    expect(await lab.toxics.list('postgres')).toEqual([]);
    expect((await lab.toxics.proxy('kafka')).enabled).toBe(true);
  });

  it('refuses a bad file with the step at fault (exit 2)', async () => {
    const file = scheduleFile('bad', { steps: [{ at: '0s', toggle: 'kafka-latency', options: { ms: 'fast' }, for: '1s' }] });
    const r = await runChaos(['schedule', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('steps[0].options.ms: expected a whole number ≥ 0');
    expect(() => parseSchedule('{"steps":[{"at":"0s","toggle":"kafka-down","for":"10s"},{"at":"5s","toggle":"kafka-down","for":"1s"}]}', 'x.json')).toThrow(/both run kafka-down at the same time/);
    expect(() => parseSchedule('{"steps":[{"at":"0s","toggle":"kafka-latency","for":"10"}]}', 'x.json')).toThrow(/steps\[0\]\.for: .*add a unit/);
    expect(() => parseSchedule('{"steps":[{"at":"0s","toggle":"nope","for":"1s"}]}', 'x.json')).toThrow(/"nope" is not a toggle/);
  });

  it('chaos/schedules/demo.json is valid; --dry-run prints its timeline and changes nothing', async () => {
    const demo = readSchedule(path.join(ROOT, 'chaos', 'schedules', 'demo.json'));
    expect(demo.steps.length).toBeGreaterThan(3);
    const r = await runChaos(['schedule', 'chaos/schedules/demo.json', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('step 1: kafka-latency --ms 2000 --jitter 500 for 15 s');
    expect(await lab.toxics.list('kafka')).toEqual([]);
  });

  it('chaos/schedules/cluster.json (KAFKA_NODES=3) is valid: node latency, node down and a leader kill, in that order', async () => {
    const r = await runChaos(['schedule', 'chaos/schedules/cluster.json', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\+0 s +step 1: kafka-node-latency --node 2 --ms 1500 --jitter 200 for 15 s/);
    expect(r.stdout).toMatch(/step 2: kafka-node-down --node 3 for 10 s/);
    expect(r.stdout).toMatch(/step 3: kafka-leader-kill --partition 0 for 15 s/);
  });
});
