/**
 * Takeover: of two running relays, one — a real process — is killed with SIGKILL mid-stream. PostgreSQL ends its
 * session and releases its slot locks; the survivor notices at its next re-share (every rebalanceIntervalMs: the
 * dead one cannot say goodbye), claims the slots, and republishes what the dead one had sent but not deleted.
 * Everything committed is delivered; per-key order holds except for those counted redeliveries.
 *
 * Negative control: the same check against a survivor that never re-shares on its own (rebalanceIntervalMs of an
 * hour — it still hands slots over when the process joins, because that comes with a NOTIFY) must fail: the
 * dead relay's slots stay orphaned and their rows never reach Kafka (black holes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { AuditReport } from '@dual-write/audit';
import type { RelayOptions } from '../../src/index.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, outboxCount, relayEnv, relayOn, RelayProcess, resetTables } from '../helpers.ts';
import { relayEvent, violationsBeyondRedeliveries } from '../fault-helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

const keys = Array.from({ length: 24 }, (_, i) => `account-${i}`);
/** How long the survivor gets to claim the dead relay's slots: 8 × its rebalanceIntervalMs (500 ms, relayOn's). */
const TAKEOVER_WAIT_MS = 4000;

interface TakeoverOutcome {
  /** What is wrong; empty when the takeover guarantee holds. */
  problems: string[];
  report: AuditReport;
  leftInOutbox: number;
  written: number;
  takeoverMs: number | undefined;
}

/**
 * The check: a survivor (in-process, `survivorOpts`) and a relay process share the slots under a keyed stream;
 * the process is killed with SIGKILL after a few batches; the survivor must own every slot within
 * TAKEOVER_WAIT_MS, drain, and the audit must find every committed row on the topic, nothing else, and no
 * out-of-order message that is not a redelivery.
 */
async function killOneOfTwo(topic: string, survivorOpts: RelayOptions = {}): Promise<TakeoverOutcome> {
  const survivor = await relayOn(lab, topic, { instanceId: 'survivor', batchSize: 20, ...survivorOpts });
  const halved = relayEvent(survivor, 'slots', 'half its slots handed to the joining process', (s) => s.owned.length === 16, 60_000);
  const victim = new RelayProcess(
    relayEnv(lab, topic, { RELAY_PORT: '0', RELAY_LOG_LEVEL: 'debug', RELAY_POLL_INTERVAL_MS: '200', RELAY_BATCH_SIZE: '20' }), // through the proxies, like the survivor
  );
  await halved;
  const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 3).start({ max: 20_000, paceMs: 2 });
  let victimPublished = 0;
  await victim.waitForLine((l) => l.msg === 'batch' && (victimPublished += Number(l.published)) >= 60, '60 messages published by the relay process', 60_000);
  if (survivor.stats().published === 0) await relayEvent(survivor, 'published', 'the survivor publishing');

  // A random few milliseconds more, so that some kills land while a batch is in flight (between ack and delete).
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
  victim.child.kill('SIGKILL');
  const exit = await victim.exited;
  expect(exit.signal).toBe('SIGKILL');
  const killedAt = Date.now();
  const takeoverMs = await relayEvent(survivor, 'slots', "the dead relay's slots claimed", (s) => s.owned.length === 32, TAKEOVER_WAIT_MS).then(
    () => Date.now() - killedAt,
    () => undefined,
  );
  const written = (await writer.stop()).length;
  await survivor.waitUntilDrained({ timeoutMs: 60_000 });
  const stats = survivor.stats();
  await survivor.stop();

  const leftInOutbox = await outboxCount(lab);
  const report = await auditItems(lab, topic);
  const problems: string[] = [];
  if (takeoverMs === undefined) problems.push(`the survivor did not claim the dead relay's slots within ${TAKEOVER_WAIT_MS} ms (it owns ${stats.ownedSlots.length})`);
  if (leftInOutbox > 0) problems.push(`${leftInOutbox} rows left in the outbox`);
  if (report.counts.rows !== written) problems.push(`the audit saw ${report.counts.rows} rows, the writer committed ${written}`);
  if (report.counts.blackHoles > 0) problems.push(`${report.counts.blackHoles} committed rows never published (black holes)`);
  if (report.counts.ghosts > 0) problems.push(`${report.counts.ghosts} ghosts`);
  const violations = violationsBeyondRedeliveries(report);
  if (violations.length > 0) problems.push(`${violations.length} out-of-order first deliveries`);
  console.log(`[takeover${survivorOpts.rebalanceIntervalMs ? ' — broken survivor' : ''}] written ${written}; the process published ${victimPublished}+ messages before the kill; takeover ${takeoverMs === undefined ? 'never' : `${takeoverMs} ms after the kill`}; survivor published ${stats.published}; audit ${JSON.stringify(report.counts)}`);
  return { problems, report, leftInOutbox, written, takeoverMs };
}

describe('a relay process killed with SIGKILL while another runs', () => {
  it('the survivor re-claims its slots; everything committed is delivered, per-key order kept except for counted redeliveries', async () => {
    const topic = await lab.topic('takeover', 6);
    const outcome = await killOneOfTwo(topic);
    expect(outcome.problems).toEqual([]);
    expect(outcome.report.counts).toMatchObject({ rows: outcome.written, entities: outcome.written, ghosts: 0, blackHoles: 0 });
    // Redeliveries are allowed (what the dead one sent but had not deleted); each is counted by the audit.
    expect(outcome.report.counts.messages).toBe(outcome.written + outcome.report.counts.extraDeliveries);
  });

  it('negative control: a survivor that never re-shares on its own fails the same check (the dead relay’s rows are never published)', async () => {
    const topic = await lab.topic('no-takeover', 6);
    const outcome = await killOneOfTwo(topic, { rebalanceIntervalMs: 3_600_000 });
    expect(outcome.takeoverMs).toBeUndefined();
    expect(outcome.problems.length).toBeGreaterThan(0);
    expect(outcome.leftInOutbox).toBeGreaterThan(0);
    expect(outcome.report.counts.blackHoles).toBeGreaterThan(0);
  });
});
