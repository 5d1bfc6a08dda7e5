/**
 * The soak at CI size, for real: 1,000 orders (three events each: created, paid, shipped) through the outbox at 50/s while the relay is killed with
 * SIGKILL and the Kafka broker is stopped and started (chaos/schedules/soak-short.json). Nothing may be
 * lost, invented or applied twice; the faults must really have been played.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { dropDatabaseAndTopic } from '../src/index.ts';
import { cleanEffects, runSoakCli, soakResults } from './soak-cli.ts';

const lab = useLab({ database: false });
const names = () => ({ database: `soak_${lab.id}`.slice(0, 63), topic: `t.${lab.id}.soak` });

const soak = (args: string[]) => runSoakCli(args);

afterAll(async () => {
  const { database, topic } = names();
  expect(await dropDatabaseAndTopic(lab.config, database, topic)).toBeUndefined();
});

describe('npm run soak -- --short', () => {
  it('outbox under relay kill -9 and a broker restart: 0 lost, 0 ghosts, 0 double effects; every order shipped and invoiced once, its three events applied in sequence', async () => {
    const { database, topic } = names();
    const run = await soak(['--short', '--json', '--no-lock', '--database', database, '--topic', topic]);
    const [r] = soakResults(run);
    if (!r) throw new Error(`no result (exit ${run.code}): ${run.stderr.slice(-3000)}`);
    console.log(`[soak --short] ${JSON.stringify({ load: { accepted: r.load.accepted, failed: r.load.failed }, backlog: r.backlog.max, drain: r.drain, audit: r.audit })}`);
    expect(r.damage).toEqual([]); // first: names what went wrong
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(r.strategy).toBe('outbox');
    expect(r.faults.byType).toEqual({ 'relay-kill': 1, 'kafka-restart': 1 });
    expect(run.stderr).toMatch(/added: 1 relay process\(es\) killed with SIGKILL/);
    expect(run.stderr).toMatch(/removed: kafka stopped — it answers again/);
    expect(r.load.accepted).toBeGreaterThanOrEqual(1000);
    expect(r.drain.timedOut).toBe(false);
    expect(r.audit).toMatchObject({ rows: r.load.accepted, ghosts: 0, blackHoles: 0, premature: 0 });
    // Three events per order (created, paid, shipped), each on the topic at least once; copies counted.
    expect(r.settings.eventsPerOrder).toBe(3);
    expect(r.audit.events).toBeGreaterThanOrEqual(r.load.accepted + r.load.steps.ok);
    expect(r.audit.events).toBeLessThanOrEqual(r.load.accepted + r.load.steps.sent);
    expect(r.audit.events).toBeGreaterThan(2 * r.load.accepted);
    expect(r.audit.messages).toBe(r.audit.events + r.audit.extraDeliveries);
    expect(r.audit.orderViolations).toBe(r.audit.orderViolationsByRedelivery); // only redeliveries go back in a stream
    expect(r.effects).toEqual(cleanEffects(r));
    expect(r.damage).toEqual([]);
  }, 300_000);

  it('refuses a bad option with exit 2, naming it, before touching anything', async () => {
    const run = await soak(['--strategy', 'yolo']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--strategy "yolo": expected one or more of naive, naive-after-commit, outbox/);
  });
});
