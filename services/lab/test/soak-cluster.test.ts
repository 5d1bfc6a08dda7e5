/**
 * The soak on the 3-node Kafka cluster at CI size, for real, on a stack of the test's own (its STACK_DIR, its
 * Toxiproxy, its PostgreSQL, three KRaft nodes on ports from freePort(); never the running stack's):
 * `soak --short --kafka-nodes 3` sends 1,000 orders of three events each (OrderCreated → OrderPaid → OrderShipped,
 * each its own transaction) through the outbox while chaos/schedules/soak-cluster-short.json kills the relay with
 * SIGKILL and then the leader of partition 0 with SIGKILL (started again after 6 s). Nothing may be lost, invented,
 * applied twice or out of its order's sequence; the leader kill must really have played: the leader's pid changed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, resolveConfig, type SettingName } from '@dual-write/config';
import { freePort, kafkaNodeName, layout, runningFromPidFile, stackDown, stackUp } from '@dual-write/stack';
import type { SoakResult } from '../src/soak/run-soak.ts';

const ROOT = findRepoRoot();
const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-soak-cluster-'));
const ports = new Set<number>();
while (ports.size < 16) ports.add(await freePort());
const p = [...ports];
const env: Partial<Record<SettingName, string>> = {
  STACK_DIR: dir,
  STACK_CACHE_DIR: resolveConfig().cacheDir, // the stack's jars, PostgreSQL and Toxiproxy binaries
  KAFKA_NODES: '3',
  KAFKA_CLUSTER_BROKERS: p.slice(0, 3).map((x) => `127.0.0.1:${x}`).join(','),
  KAFKA_CLUSTER_CONTROLLER_PORTS: p.slice(3, 6).join(','),
  KAFKA_CLUSTER_PROXIED_LISTENER_PORTS: p.slice(6, 9).join(','),
  KAFKA_CLUSTER_PROXY_PORTS: p.slice(9, 12).join(','),
  TOXIPROXY_URL: `http://127.0.0.1:${p[12]}`,
  DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${p[13]}/dual_write`,
  POSTGRES_MANAGED: 'true', // the stack runs this PostgreSQL (on DATABASE_URL's port)
  POSTGRES_PROXY_PORT: String(p[14]),
  PGBOUNCER_PORT: String(p[15]),
  ORDERS_TOPIC_PARTITIONS: '3',
  STACK_READY_TIMEOUT_MS: '90000',
};
const config = resolveConfig(env, {});
const paths = layout(config);
const pidOf = (id: number) => runningFromPidFile(paths.pidFile(kafkaNodeName(id)))?.pid;

/** The run's JSON results; a run that printed none (it crashed) fails with the end of its log. */
function resultsOf(run: { code: number | null; stdout: string; stderr: string }): SoakResult[] {
  try {
    return (JSON.parse(run.stdout) as { results: SoakResult[] }).results;
  } catch {
    throw new Error(`no JSON results (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  }
}

function soak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // This stack's settings, none of the outer stack's (KAFKA_BROKERS cleared: the cluster's own listeners are used).
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/lab/src/soak/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, KAFKA_BROKERS: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

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
    const [r] = resultsOf(run);
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
    expect(r.effects).toMatchObject({
      shipped: r.audit.rows,
      invoiced: r.audit.rows,
      doubleShipments: 0,
      doubleInvoices: 0,
      missingShipments: 0,
      missingInvoices: 0,
      ghostShipments: 0,
      ghostInvoices: 0,
      streamStepsApplied: 2 * r.audit.events,
      outOfSequence: 0,
      incompleteStreams: 0,
    });
    expect(r.damage).toEqual([]);
  }, 300_000);
});
