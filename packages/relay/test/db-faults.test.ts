/**
 * PostgreSQL failing under the relay while a writer keeps committing (the writer connects directly; the relay
 * goes through the `postgres` proxy, so the faults hit only the relay):
 *  - connections reset by peer (a `reset_peer` toxic): every query and the lock/LISTEN session die;
 *  - a restart as the relay sees it: the server terminates its backends (what a shutdown does) and refuses
 *    connections until it is back (the proxy disabled).
 * The relay retries, re-opens its session, re-claims its slots; afterwards every committed row is on the topic
 * (no black hole), nothing that was not committed is (no ghost), and any out-of-order message is a redelivery.
 *
 * And a real restart (stopService/startService of the stack's PostgreSQL, ~5 s), as chaos's postgres-restart
 * does: this file holds the lab lock, so no other test of the run is using the server meanwhile.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import type { LabConfig } from '@dual-write/config';
import type { Relay } from '../src/index.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, outboxCount, relayOn, REPO_ROOT, resetTables } from './helpers.ts';
import { capturingLogger, relayBackends, relayEvent, violationsBeyondRedeliveries, type CapturedLog } from './fault-helpers.ts';

const lab = useLab({ initSql: migrateForTests });
beforeEach(() => resetTables(lab));
afterEach(cleanupRelays);

const keys = Array.from({ length: 12 }, (_, i) => `account-${i}`);

/** A relay under a keyed stream, 100 messages published; its log captured. */
async function relayUnderLoad(topic: string): Promise<{ relay: Relay; writer: KeyedWriter; log: CapturedLog }> {
  const log = capturingLogger('info');
  const relay = await relayOn(lab, topic, { logger: log.logger, batchSize: 50, retryBackoff: { initialMs: 100, maxMs: 1000 } });
  const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 2).start({ max: 20_000, paceMs: 5 });
  await relayEvent(relay, 'published', '100 messages published', (p) => p.total >= 100);
  return { relay, writer, log };
}

/**
 * Resolves once the relay has logged `count` failed database attempts after the session loss (a failed
 * re-open, read, or delete of published rows — each is retried with backoff): it keeps trying while the fault lasts.
 */
function retriesWhileDown(log: CapturedLog, count: number): Promise<unknown> {
  const mark = log.lines.length;
  let seen = 0;
  const isRetry = (l: Record<string, unknown>) =>
    (l.msg === 'database error; retrying' && !String(l.error).startsWith('relay session lost')) || String(l.msg).startsWith('could not delete published rows');
  return log.line((l) => log.lines.indexOf(l) >= mark && isRetry(l) && ++seen >= count, `${count} failed database attempts logged`);
}

/**
 * The fault is over: the relay re-claimed its slots. Keep writing until it published more after that, stop the
 * writer, drain, audit.
 */
async function afterRecovery(relay: Relay, writer: KeyedWriter, log: CapturedLog, topic: string, label: string) {
  const publishedAtRecovery = relay.stats().published;
  await relayEvent(relay, 'published', 'publishing again after the fault', (p) => p.total >= publishedAtRecovery + 50);
  expect(relay.stats().database).toBe('up');
  const written = await writer.stop();
  await relay.waitUntilDrained({ timeoutMs: 60_000 });
  const stats = relay.stats();
  await relay.stop();
  const report = await auditItems(lab, topic);
  const failed = (prefix: string) => log.lines.filter((l) => String(l.msg).startsWith(prefix)).length;
  console.log(
    `[${label}] written ${written.length}; relay published ${stats.published} in ${stats.batches} batches; ` +
      `failed database attempts logged: ${failed('database error')} in the loop, ${failed('could not delete published rows')} deletes of acknowledged rows; audit ${JSON.stringify(report.counts)}`,
  );
  expect(await outboxCount(lab)).toBe(0);
  expect(report.counts).toMatchObject({ rows: written.length, entities: written.length, ghosts: 0, blackHoles: 0 });
  expect(violationsBeyondRedeliveries(report)).toEqual([]);
  return report;
}

describe('PostgreSQL failing under the relay', () => {
  it('connections reset by peer: it retries, re-opens its session, re-claims its slots; every committed row published', async () => {
    const topic = await lab.topic('reset', 3);
    const { relay, writer, log } = await relayUnderLoad(topic);

    const sessionLost = relayEvent(relay, 'database-error', 'its session lost', (e) => e.error.startsWith('relay session lost'));
    // Both directions: a connection is reset as soon as it carries data — a query (upstream), a result or a
    // NOTIFY (downstream: the writer's commits reach the LISTENing session even while the loop is busy retrying).
    const toxics = [
      await lab.toxics.add('postgres', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } }),
      await lab.toxics.add('postgres', { type: 'reset_peer', stream: 'downstream', attributes: { timeout: 0 } }),
    ];
    await sessionLost;
    expect(relay.stats()).toMatchObject({ database: 'down', ownedSlots: [] });
    await retriesWhileDown(log, 2); // it keeps trying while the resets go on
    await writer.reached(writer.written.length + 40); // and rows keep being committed meanwhile
    const backlogDuringFault = await outboxCount(lab);

    const reclaimed = relayEvent(relay, 'slots', 'its 32 slots re-claimed', (s) => s.owned.length === 32);
    for (const t of toxics) await t.remove();
    const slots = await reclaimed;
    expect(slots.claimed).toHaveLength(32);

    const report = await afterRecovery(relay, writer, log, topic, 'reset_peer');
    expect(backlogDuringFault).toBeGreaterThan(0);
    expect(report.counts.rows).toBeGreaterThan(backlogDuringFault);
  });

  it('a restart as the relay sees it (its backends terminated, then connections refused for a while): it recovers and every committed row is published', async () => {
    const topic = await lab.topic('restart', 3);
    const { relay, writer, log } = await relayUnderLoad(topic);
    const backends = await relayBackends(lab);
    expect(backends.some((b) => b.application_name.startsWith('outbox-relay-session:'))).toBe(true);

    const sessionLost = relayEvent(relay, 'database-error', 'its session lost', (e) => e.error.startsWith('relay session lost'));
    const admin = lab.pool({ max: 1 });
    // What PostgreSQL's shutdown does to every backend (FATAL 57P01), then no new connection until it is back.
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like $1', ['outbox-relay%']);
    await lab.toxics.setEnabled('postgres', false);
    await sessionLost;
    await retriesWhileDown(log, 2);
    await writer.reached(writer.written.length + 40);
    expect(relay.stats()).toMatchObject({ database: 'down', ownedSlots: [] });

    const reclaimed = relayEvent(relay, 'slots', 'its 32 slots re-claimed', (s) => s.owned.length === 32);
    await lab.toxics.setEnabled('postgres', true);
    expect((await reclaimed).claimed).toHaveLength(32);
    await afterRecovery(relay, writer, log, topic, 'terminate + refuse');
    await admin.end();
  });

  it('a real PostgreSQL restart mid-drain: it recovers and every committed row is published', async () => {
    const topic = await lab.topic('real-restart', 3);
    // A backlog written before the restart (a writer's own connections die with the server too).
    const writer = new KeyedWriter(lab.pool({ max: 2 }), keys, 10).start({ max: 3000 });
    await writer.finished();
    const log = capturingLogger('info');
    const relay = await relayOn(lab, topic, { logger: log.logger, batchSize: 20, retryBackoff: { initialMs: 100, maxMs: 1000 } });
    await relayEvent(relay, 'published', '100 messages published', (p) => p.total >= 100);

    // @dual-write/stack is not a dependency of the relay: loaded from its source, only when this test runs.
    type Service = (name: 'postgres', opts: { config: LabConfig }) => Promise<unknown>;
    const { stopService, startService } = (await import(path.join(REPO_ROOT, 'packages/stack/src/index.ts'))) as { stopService: Service; startService: Service };
    const sessionLost = relayEvent(relay, 'database-error', 'its session lost', (e) => e.error.startsWith('relay session lost'), 60_000);
    await stopService('postgres', { config: lab.config });
    try {
      await sessionLost;
      await retriesWhileDown(log, 2);
    } finally {
      await startService('postgres', { config: lab.config });
    }
    await relayEvent(relay, 'slots', 'its 32 slots re-claimed', (s) => s.owned.length === 32, 60_000);
    await relay.waitUntilDrained({ timeoutMs: 60_000 });
    await relay.stop();
    const report = await auditItems(lab, topic);
    console.log(`[real restart] written ${writer.written.length}; audit ${JSON.stringify(report.counts)}`);
    expect(await outboxCount(lab)).toBe(0);
    expect(report.counts).toMatchObject({ rows: writer.written.length, ghosts: 0, blackHoles: 0 });
    expect(violationsBeyondRedeliveries(report)).toEqual([]);
  });
});
