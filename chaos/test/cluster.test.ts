/**
 * The KAFKA_NODES=3 toggles, on a stack of the test's own (its STACK_DIR, its Toxiproxy server, a 3-node cluster on
 * ports from freePort(); never the running stack's), run as `node --import tsx chaos/src/cli.ts …` with that
 * stack's settings in their environment: kafka-node-latency and kafka-node-down hit only the chosen node's proxy
 * and are undone on SIGTERM; kafka-leader-kill kills the node that leads the partition (per metadata) and starts it
 * again at the end of --for, or — its process killed — `clear` does; on a single-node stack it refuses with the fix.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { ToxicHelper } from '@dual-write/faults';
import { clusterBrokerIds, kafkaNodeName, layout, partitionStates, runningFromPidFile, stackDown, startService, startToxiproxy } from '@dual-write/stack';
import { isolatedClusterStack } from '@dual-write/testkit';
import { startChaos } from './child.ts';

const { dir, env } = await isolatedClusterStack('dw-chaos-cluster-'); // its PostgreSQL is never started here
const config = resolveConfig(env, {});
const paths = layout(config);
const toxics = new ToxicHelper(config.toxiproxy.url);
/** The chaos child's environment: this stack's settings, none of the outer KAFKA_BROKERS / KAFKA_NODES. */
const childEnv = { ...env, KAFKA_BROKERS: '' };
const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => startChaos([...args, '--no-lock'], { ...childEnv, ...extra });

beforeAll(async () => {
  await startToxiproxy(config, paths, () => {});
  await startService('kafka', { config });
}, 120_000);

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
});

describe('cluster toggles (KAFKA_NODES=3)', () => {
  it('kafka-node-latency --node 2 puts latency on the kafka-2 proxy only, and removes it on SIGTERM', async () => {
    const child = run(['kafka-node-latency', '--node', '2', '--ms', '300']);
    await child.line(/added: latency 300 ms/);
    expect((await toxics.describe('kafka-2')).map((t) => [t.type, t.stream, t.attributes])).toEqual([['latency', 'downstream', { latency: 300, jitter: 0 }]]);
    expect([await toxics.list('kafka-1'), await toxics.list('kafka-3'), await toxics.list('postgres')]).toEqual([[], [], []]);
    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 143, signal: null });
    expect(await toxics.list('kafka-2')).toEqual([]);
  });

  it('kafka-node-down --node 3 disables the kafka-3 proxy only; `list` shows it; SIGTERM re-enables it', async () => {
    const child = run(['kafka-node-down', '--node', '3']);
    await child.line(/added: the kafka-3 proxy disabled/);
    expect([(await toxics.proxy('kafka-1')).enabled, (await toxics.proxy('kafka-2')).enabled, (await toxics.proxy('kafka-3')).enabled]).toEqual([true, true, false]);
    const list = startChaos(['list'], childEnv);
    expect((await list.exited).code).toBe(0);
    expect(list.stdout()).toContain(`kafka-3 proxy: DISABLED (127.0.0.1:${config.kafka.nodes[2]!.proxyPort} → 127.0.0.1:${config.kafka.nodes[2]!.proxiedListenerPort})`);
    expect(list.stdout()).not.toMatch(/^kafka proxy:/m); // this stack has no single-node proxy
    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 143, signal: null });
    expect((await toxics.proxy('kafka-3')).enabled).toBe(true);
  });

  it('kafka-leader-kill --partition 1 kills the node that leads partition 1 and starts it again when --for ends', async () => {
    const [, before] = await partitionStates(config.kafka.brokers, config.topics.orders.name);
    const leader = before!.leader;
    const pidBefore = runningFromPidFile(paths.pidFile(kafkaNodeName(leader)))!.pid;
    const others = config.kafka.nodes.filter((n) => n.id !== leader).map((n) => runningFromPidFile(paths.pidFile(kafkaNodeName(n.id)))!.pid);
    const child = run(['kafka-leader-kill', '--partition', '1', '--for', '500ms']);
    expect((await child.exited).code).toBe(0);
    expect(child.stdout()).toContain(`kafka-${leader}: stopped (pid ${pidBefore}, SIGKILL)`);
    expect(child.stdout()).toContain(`added: the leader of ${config.topics.orders.name} partition 1, node ${leader}`);
    expect(child.stdout()).toMatch(new RegExp(`removed: kafka-${leader} killed — started again`));
    const pidAfter = runningFromPidFile(paths.pidFile(kafkaNodeName(leader)))?.pid;
    expect(pidAfter).toBeDefined();
    expect(pidAfter).not.toBe(pidBefore);
    expect(config.kafka.nodes.filter((n) => n.id !== leader).map((n) => runningFromPidFile(paths.pidFile(kafkaNodeName(n.id)))!.pid)).toEqual(others);
    expect(await clusterBrokerIds(config.kafka.brokers)).toEqual([1, 2, 3]);
  });

  it('a leader-kill process killed with kill -9: `clear` starts the node again with the cluster’s settings (from the record), even run with KAFKA_NODES=1', async () => {
    const [before] = await partitionStates(config.kafka.brokers, config.topics.orders.name);
    const leader = before!.leader;
    const child = run(['kafka-leader-kill']);
    await child.line(/added: the leader of /);
    expect(runningFromPidFile(paths.pidFile(kafkaNodeName(leader)))).toBeUndefined();
    child.child.kill('SIGKILL');
    await child.exited;
    const clear = startChaos(['clear'], { ...childEnv, KAFKA_NODES: '1' });
    expect((await clear.exited).code).toBe(0);
    expect(clear.stdout()).toContain(`started kafka again, stopped by chaos kafka-leader-kill (pid ${child.pid}, no longer running)`);
    expect(runningFromPidFile(paths.pidFile(kafkaNodeName(leader)))).toBeDefined();
    expect(await clusterBrokerIds(config.kafka.brokers)).toEqual([1, 2, 3]);
  });

  it('kafka-leader-kill refuses a single-node stack (KAFKA_NODES=1) with the fix, exit 2', async () => {
    const child = run(['kafka-leader-kill'], { KAFKA_NODES: '1' });
    expect((await child.exited).code).toBe(2);
    expect(child.stderr()).toContain('[DW_CONFIG_INVALID] kafka-leader-kill needs the stack\'s Kafka cluster (KAFKA_NODES=3');
    expect(child.stderr()).toContain('--kafka-nodes 3');
  });
});
