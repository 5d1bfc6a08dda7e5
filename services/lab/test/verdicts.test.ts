/**
 * What decides the exit codes of `npm run test-scenario` and `npm run soak`, fed results a real run could give —
 * including damaged ones, so the check that makes a run exit 1 is seen to fire (the real runs, in
 * test-scenario.test.ts and soak.test.ts, only ever show the passing side). And test-scenario's refusal of a
 * bad option, exit 2, as a process.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoRoot } from '@dual-write/config';
import { runCommand } from '@dual-write/testkit';
import { damageOf, type SoakResult } from '../src/soak/run-soak.ts';
import { soakExitCode } from '../src/soak/cli.ts';
import { scenarioExitCode } from '../src/test-scenario.ts';

const ROOT = findRepoRoot();

type Judged = Pick<SoakResult, 'audit' | 'effects' | 'drain'>;

/**
 * A soak that lost nothing: 100 orders of 3 events, 301 messages (one redelivery, which also went down in its order's
 * sequence on the topic), everything shipped and invoiced once, every stream applied in order to its end.
 */
function clean(): Judged {
  return {
    audit: { rows: 100, events: 300, messages: 301, ghosts: 0, blackHoles: 0, duplicateEvents: 1, extraDeliveries: 1, premature: 0, orderViolations: 1, orderViolationsByRedelivery: 1 },
    effects: { shipped: 100, invoiced: 100, doubleShipments: 0, doubleInvoices: 0, missingShipments: 0, missingInvoices: 0, ghostShipments: 0, ghostInvoices: 0, prematureShipments: 0, prematureInvoices: 0, streamStepsApplied: 600, outOfSequence: 0, incompleteStreams: 0 },
    drain: { outboxEmptyAfterMs: 120, settledAfterMs: 900, timedOut: false },
  };
}

describe('npm run soak: damage and the exit code', () => {
  it('a clean run has no damage — a redelivered message the inbox absorbed is not damage (delivery is at least once)', () => {
    expect(damageOf(clean())).toEqual([]);
    expect(soakExitCode([{ strategy: 'outbox', damage: damageOf(clean()) }])).toBe(0);
  });

  it('each kind of damage is named, and makes an outbox run exit 1', () => {
    const damaged: [string, (r: Judged) => void, RegExp][] = [
      ['lost', (r) => void (r.audit.blackHoles = 3), /^3 black hole\(s\)/],
      ['invented', (r) => void (r.audit.ghosts = 1), /^1 ghost\(s\)/],
      ['shipped twice', (r) => void (r.effects.doubleShipments = 2), /^2 order\(s\) shipped twice/],
      ['invoiced twice', (r) => void (r.effects.doubleInvoices = 1), /^1 order\(s\) invoiced twice/],
      ['never shipped', (r) => void (r.effects.missingShipments = 4), /^4 order\(s\) never shipped/],
      ['never invoiced', (r) => void (r.effects.missingInvoices = 4), /^4 order\(s\) never invoiced/],
      ['a callback for a ghost', (r) => void (r.effects.ghostShipments = 1), /ghost order \(404\)/],
      ['a callback that looked too early', (r) => void (r.effects.prematureShipments = 1), /^1 shipment callback\(s\) answered 404 for an order committed afterwards/],
      ['a message before its commit', (r) => void (r.audit.premature = 2), /^2 premature message\(s\)/],
      ['a stream reordered on the topic', (r) => void (r.audit.orderViolations = 3), /^2 message\(s\) out of their order’s sequence on the topic \(not redeliveries\)/],
      ['an event applied out of sequence', (r) => void (r.effects.outOfSequence = 1), /^1 event\(s\) applied by a consumer out of their order’s sequence/],
      ['a stream not applied to its end', (r) => void (r.effects.incompleteStreams = 2), /^2 order stream\(s\) a consumer did not apply to the end/],
      ['never settled', (r) => void (r.drain.timedOut = true), /did not settle in time/],
    ];
    for (const [what, spoil, named] of damaged) {
      const r = clean();
      spoil(r);
      const damage = damageOf(r);
      expect(damage, what).toHaveLength(1);
      expect(damage[0], what).toMatch(named);
      expect(soakExitCode([{ strategy: 'outbox', damage }]), what).toBe(1);
    }
  });

  it('damage in a naive run is the expected contrast (exit 0); one damaged outbox run among several exits 1', () => {
    const ghosts = clean();
    ghosts.audit.ghosts = 4;
    const holes = clean();
    holes.audit.blackHoles = 4250;
    const naive = [
      { strategy: 'naive' as const, damage: damageOf(ghosts) },
      { strategy: 'naive-after-commit' as const, damage: damageOf(holes) },
    ];
    expect(soakExitCode([...naive, { strategy: 'outbox', damage: [] }])).toBe(0);
    expect(soakExitCode([...naive, { strategy: 'outbox', damage: damageOf(holes) }])).toBe(1);
  });
});

describe('npm run test-scenario: the exit code', () => {
  const asExpected = [
    { strategy: 'naive', damage: true },
    { strategy: 'naive-after-commit', damage: true },
    { strategy: 'outbox', damage: false },
  ];

  it('0 when every naive row shows its damage and every outbox row none', () => {
    expect(scenarioExitCode(asExpected)).toBe(0);
  });

  it('1 when an outbox row shows damage, or a naive row shows none (the fault did not bite)', () => {
    expect(scenarioExitCode([...asExpected, { strategy: 'outbox', damage: true }])).toBe(1);
    expect(scenarioExitCode([...asExpected, { strategy: 'naive', damage: false }])).toBe(1);
    expect(scenarioExitCode([...asExpected, { strategy: 'naive-after-commit', damage: false }])).toBe(1);
  });

  it('2 for a bad option, naming it, before the stack or the lab lock is touched', async () => {
    const r = await runCommand(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/lab/src/test-scenario.ts'), '--only', 'db,nope'], { cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--only takes a comma-separated list of db, mq, mq-crash, pool, early (unknown: nope)');
    expect(r.stdout).toBe('');
  });
});
