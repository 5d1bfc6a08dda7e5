/**
 * The soak on the 3-node Kafka cluster at CI size, for real, on a stack of the test's own (its STACK_DIR, its
 * Toxiproxy, its PostgreSQL, three KRaft nodes on ports from freePort(); never the running stack's):
 * `soak --short --kafka-nodes 3` sends 1,000 orders of three events each (OrderCreated → OrderPaid → OrderShipped,
 * each its own transaction) through the outbox while chaos/schedules/soak-cluster-short.json kills the relay with
 * SIGKILL and then the leader of partition 0 with SIGKILL (started again after 6 s). Nothing may be lost, invented,
 * applied twice or out of its order's sequence; the leader kill must really have played: the leader's pid changed.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { kafkaNodeName, layout, runningFromPidFile, stackDown, stackUp } from '@dual-write/stack';
import { isolatedClusterStack } from '@dual-write/testkit';
import { cleanEffects, runSoakCli, soakResults } from './soak-cli.ts';

const stack = await isolatedClusterStack('dw-soak-cluster-');
const dir = stack.dir;
const env = {
  ...stack.env,
  POSTGRES_MANAGED: 'true', // the stack runs this PostgreSQL (on DATABASE_URL's port)
  STACK_READY_TIMEOUT_MS: '90000',
};
const config = resolveConfig(env, {});
const paths = layout(config);
const pidOf = (id: number) => runningFromPidFile(paths.pidFile(kafkaNodeName(id)))?.pid;

// This stack's settings, none of the outer stack's (KAFKA_BROKERS cleared: the cluster's own listeners are used).
const soak = (args: string[]) => runSoakCli(args, { ...process.env, ...env, KAFKA_BROKERS: '' });

beforeAll(async () => {
  await stackUp({ config, progress: () => {} });
}, 240_000);

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('npm run soak -- --short --kafka-nodes 3', () => {
  it('three events per order through a relay kill -9 and a partition leader kill -9: 0 lost, 0 ghosts, 0 double effects, every stream in sequence', async () => {
    const pidsBefore = config.kafka.nodes.map((n) => pidOf(n.id));
    expect(pidsBefore.every((x) => typeof x === 'number')).toBe(true);
    const run = await soak(['--short', '--kafka-nodes', '3', '--json', '--no-lock']);
    const [r] = soakResults(run);
    if (!r) throw new Error(`no result (exit ${run.code}): ${run.stderr.slice(-3000)}`);
    console.log(`[soak --short --kafka-nodes 3] ${JSON.stringify({ ms: r.durationMs, load: { accepted: r.load.accepted, failed: r.load.failed, steps: r.load.steps }, drain: r.drain, audit: r.audit, stream: { applied: r.effects.streamStepsApplied, outOfSequence: r.effects.outOfSequence } })}`);
    expect(r.damage).toEqual([]); // first: names what went wrong
    expect(run.code, run.stderr.slice(-3000)).toBe(0);

    expect(r.settings).toMatchObject({ kafkaNodes: 3, eventsPerOrder: 3, schedule: 'chaos/schedules/soak-cluster-short.json' });
    expect(r.faults.byType).toEqual({ 'relay-kill': 1, 'kafka-leader-kill': 1 });
    // The leader kill played: one node's process was killed and started again (its pid changed), the others not.
    const leader = /added: the leader of \S+ partition 0, node (\d)/.exec(run.stderr);
    expect(leader, run.stderr.slice(-3000)).not.toBeNull();
    const killed = Number(leader![1]);
    expect(run.stderr).toMatch(new RegExp(`removed: kafka-${killed} killed — started again`));
    const pidsAfter = config.kafka.nodes.map((n) => pidOf(n.id));
    config.kafka.nodes.forEach((n, i) => {
      if (n.id === killed) expect(pidsAfter[i], `node ${n.id}`).not.toBe(pidsBefore[i]);
      else expect(pidsAfter[i], `node ${n.id}`).toBe(pidsBefore[i]);
    });

    expect(r.load.accepted).toBeGreaterThanOrEqual(1000);
    expect(r.drain.timedOut).toBe(false);
    // Every order in the table; its events (sum of versions) on the topic, each at least once; copies counted.
    expect(r.audit).toMatchObject({ rows: r.load.accepted, ghosts: 0, blackHoles: 0, premature: 0 });
    // A step whose answer was lost (a timeout) may still have committed: between the steps answered 200 and those sent.
    expect(r.audit.events).toBeGreaterThanOrEqual(r.load.accepted + r.load.steps.ok);
    expect(r.audit.events).toBeLessThanOrEqual(r.load.accepted + r.load.steps.sent);
    expect(r.audit.events).toBeGreaterThan(2 * r.load.accepted); // several events per order, not one
    expect(r.audit.messages).toBe(r.audit.events + r.audit.extraDeliveries);
    // Per-key order: any message out of its order's sequence on the topic is a redelivery, never a reordering.
    expect(r.audit.orderViolations).toBe(r.audit.orderViolationsByRedelivery);
    expect(r.effects).toEqual(cleanEffects(r));
    expect(r.damage).toEqual([]);
  }, 300_000);
});
