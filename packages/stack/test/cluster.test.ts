/**
 * KAFKA_NODES=3, proven on a STACK_DIR and ports of the test's own (never the running stack's): its own Toxiproxy
 * server and twelve Kafka ports from freePort(); the jars come from the stack's cache (STACK_CACHE_DIR).
 *
 * Three KRaft nodes start (one cluster id, a 3-voter quorum with a leader, -Xmx512m each), each advertising its own
 * proxy on the proxied listener; a topic with replication factor 3 has ISR 3; kill -9 of its partition's leader →
 * ISR 2 without it, a new leader, and a produce with acks=all still succeeds — while on a topic with
 * min.insync.replicas=3 (the negative control) the same send is refused; the node started again → ISR 3;
 * `down` stops every node and Toxiproxy — no process of this STACK_DIR is left. Every wait is on a condition
 * (metadata, pids) with a deadline; no fixed sleep.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { clusterBrokerIds, CLUSTER_NODE_HEAP, describeQuorum, partitionStates, startKafka, type PartitionState } from '../src/kafka.ts';
import { kafkaNodeName, layout } from '../src/layout.ts';
import { freePort } from '../src/net.ts';
import { isAlive, runningFromPidFile } from '../src/process.ts';
import { stackDown, stackStatus, startService, stopKafkaNode } from '../src/stack.ts';
import { startToxiproxy } from '../src/toxiproxy.ts';

const { ConfigResourceTypes } = kafkajs;

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-stack-cluster-'));
const p = await distinctFreePorts(17);
const list = (a: number[]) => a.join(',');
const config = resolveConfig(
  {
    STACK_DIR: dir,
    STACK_CACHE_DIR: resolveConfig().cacheDir, // the stack's jars and Toxiproxy binary: nothing is downloaded again
    KAFKA_NODES: 3,
    KAFKA_CLUSTER_BROKERS: p.slice(0, 3).map((x) => `127.0.0.1:${x}`).join(','),
    KAFKA_CLUSTER_CONTROLLER_PORTS: list(p.slice(3, 6)),
    KAFKA_CLUSTER_PROXIED_LISTENER_PORTS: list(p.slice(6, 9)),
    KAFKA_CLUSTER_PROXY_PORTS: list(p.slice(9, 12)),
    TOXIPROXY_URL: `http://127.0.0.1:${p[12]}`,
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${p[13]}/dual_write`, // never started here
    POSTGRES_PROXY_PORT: p[14]!,
    PGBOUNCER_PORT: p[15]!,
    STACK_READY_TIMEOUT_MS: 60_000,
  },
  {}, // not the environment: KAFKA_BROKERS or KAFKA_NODES set there must not change what this test runs
);
const paths = layout(config);
const nodeIds = config.kafka.nodes.map((n) => n.id);
const direct = (id: number) => `127.0.0.1:${config.kafka.nodes.find((n) => n.id === id)!.directPort}`;
const TOPIC = 'cluster-proof';
/** The negative control: the same topic with min.insync.replicas=3, so acks=all must fail once a replica is gone. */
const STRICT = 'cluster-proof-strict';
const startedPids = new Set<number>();

afterAll(async () => {
  await stackDown({ config });
  rmSync(dir, { recursive: true, force: true });
});

/** Polls `probe` until it returns a value `done` accepts; fails with the last value seen after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last seen ${JSON.stringify(last)}${lastErr ? `, last error ${String(lastErr)}` : ''})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const nodePid = (id: number) => runningFromPidFile(paths.pidFile(kafkaNodeName(id)))?.pid;
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

/** Processes whose command line names this test's STACK_DIR (the nodes' server.properties, Toxiproxy's is by pid). */
function processesOfDir(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return cmdline(pid).some((a) => a.includes(dir));
      } catch {
        return false;
      }
    });
}

async function produce(brokers: string[], value: string, topic = TOPIC, retries = 5) {
  const producer = new Kafka({ clientId: 'cluster-proof', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 15_000, retry: { retries } }).producer();
  await producer.connect();
  try {
    const [meta] = await producer.send({ topic, acks: -1, timeout: 15_000, messages: [{ key: 'k', value }] });
    return meta!;
  } finally {
    await producer.disconnect();
  }
}

/** The messages and kafkajs error types along an error's cause chain. */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  let e = err as { message?: string; type?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let i = 0; e && i < 6; i++) {
    parts.push(`${e.type ?? ''} ${e.message ?? String(e)}`);
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return parts.join(' ← ');
}

describe('a 3-node Kafka cluster (KAFKA_NODES=3)', () => {
  let victim = 0;
  let victimPid = 0;

  it('starts three KRaft nodes: one cluster id, a 3-voter quorum with a leader, each node behind its own proxy', async () => {
    const t0 = Date.now();
    const lines: string[] = [];
    await startToxiproxy(config, paths, (l) => lines.push(l));
    await startKafka(config, paths, (l) => lines.push(l));
    const startMs = Date.now() - t0;

    const pids = nodeIds.map((id) => nodePid(id));
    expect(pids.every((x) => x !== undefined && isAlive(x))).toBe(true);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) {
      startedPids.add(pid!);
      expect(cmdline(pid!)).toContain(`-Xmx${CLUSTER_NODE_HEAP}`);
    }
    const rssMb = pids.map((pid) => Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024));
    console.log(`cluster: started in ${(startMs / 1000).toFixed(1)} s (Toxiproxy + storage format + 3 JVMs); RSS ${rssMb.join(' + ')} = ${rssMb.reduce((a, b) => a + b, 0)} MB`);

    // One cluster id, written into every node's storage.
    const ids = nodeIds.map((id) => /^cluster\.id=(.+)$/m.exec(readFileSync(path.join(paths.kafkaNodeData(id), 'meta.properties'), 'utf8'))?.[1]);
    expect(new Set(ids).size).toBe(1);
    const quorum = await describeQuorum(config, paths);
    expect(quorum.clusterId).toBe(ids[0]);
    expect(quorum.voters).toEqual([1, 2, 3]);
    expect(nodeIds).toContain(quorum.leaderId);

    // Bootstrapped through the kafka-1 proxy, the metadata names every node by its own proxy's address.
    const viaProxy = new Kafka({ clientId: 'cluster-proof', brokers: [config.kafka.appBrokers[0]!], logLevel: logLevel.NOTHING }).admin();
    await viaProxy.connect();
    try {
      const { brokers } = await viaProxy.describeCluster();
      expect(brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]).sort()).toEqual(config.kafka.nodes.map((n) => [n.id, `127.0.0.1:${n.proxyPort}`]));
    } finally {
      await viaProxy.disconnect();
    }
    const toxiproxy = (await (await fetch(`${config.toxiproxy.url}/proxies`)).json()) as Record<string, { listen: string; upstream: string }>;
    for (const n of config.kafka.nodes) expect(toxiproxy[n.proxyName]).toMatchObject({ listen: `127.0.0.1:${n.proxyPort}`, upstream: `127.0.0.1:${n.proxiedListenerPort}` });
    expect(toxiproxy.kafka).toBeUndefined();

    // The lab's orders topic: replication factor 3, min.insync.replicas 2, LogAppendTime kept.
    const orders = await partitionStates(config.kafka.brokers, config.topics.orders.name);
    expect(orders).toHaveLength(config.topics.orders.partitions);
    for (const s of orders) expect(s.replicas).toEqual([1, 2, 3]);
    const admin = new Kafka({ clientId: 'cluster-proof', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: config.topics.orders.name, configNames: ['min.insync.replicas', 'message.timestamp.type'] }] });
      expect(Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))).toEqual({ 'min.insync.replicas': '2', 'message.timestamp.type': 'LogAppendTime' });
      await admin.createTopics({
        topics: [
          { topic: TOPIC, numPartitions: 1, replicationFactor: 3 },
          { topic: STRICT, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '3' }] },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const [state] = await waitFor('ISR 3 on the new topic', () => partitionStates(config.kafka.brokers, TOPIC), (s) => s[0]?.isr.length === 3);
    expect(state!.replicas).toEqual([1, 2, 3]);
    await waitFor('ISR 3 on the strict topic', () => partitionStates(config.kafka.brokers, STRICT), (s) => s[0]?.isr.length === 3);
    expect((await produce(config.kafka.brokers, 'all three in sync', STRICT, 0)).errorCode).toBe(0);
    // Through the proxies, with every node up.
    expect((await produce(config.kafka.appBrokers, 'through the proxies')).errorCode).toBe(0);

    // `stack status` shows each node and the quorum.
    const status = await stackStatus({ config });
    const kafka = status.find((s) => s.name === 'kafka')!;
    expect(kafka.state).toBe('running');
    expect(kafka.listens.join('\n')).toMatch(/quorum: leader [123] \(epoch \d+\), voters 1,2,3/);
    for (const id of nodeIds) {
      const node = status.find((s) => s.name === kafkaNodeName(id))!;
      expect(node).toMatchObject({ state: 'running', pid: nodePid(id) });
      expect(node.listens).toContain(`direct ${direct(id)}`);
    }
  });

  it('kill -9 of the partition’s leader: ISR 2 without it, a new leader, and a produce with acks=all succeeds', async () => {
    const [before] = await partitionStates(config.kafka.brokers, TOPIC);
    victim = before!.leader;
    victimPid = nodePid(victim)!;
    const survivors = nodeIds.filter((id) => id !== victim).map(direct);
    expect(await stopKafkaNode(victim, { config })).toBe(victimPid); // SIGKILL by default
    expect(isAlive(victimPid)).toBe(false);

    const t0 = Date.now();
    const [after] = await waitFor<PartitionState[]>('ISR shrunk to the two survivors', () => partitionStates(survivors, TOPIC), (s) => s[0]?.isr.length === 2 && s[0].leader !== victim && s[0].leader >= 0);
    console.log(`cluster: ISR 3 → 2 ${((Date.now() - t0) / 1000).toFixed(1)} s after kill -9 of node ${victim} (the leader); new leader ${after!.leader}`);
    expect(after!.isr).not.toContain(victim);
    expect(after!.replicas).toEqual([1, 2, 3]);

    const meta = await produce(survivors, 'with one node down');
    expect(meta.errorCode).toBe(0);
    expect(Number(meta.baseOffset)).toBe(1); // after the message sent through the proxies: nothing lost, nothing doubled

    // Negative control: acks=all really waits for the ISR — with min.insync.replicas=3 the same send is refused.
    await waitFor('ISR 2 on the strict topic', () => partitionStates(survivors, STRICT), (s) => s[0]?.isr.length === 2 && s[0].leader !== victim && s[0].leader >= 0);
    const refused = await produce(survivors, 'needs three in sync', STRICT, 0).then(
      () => 'accepted',
      (err: unknown) => errorChain(err),
    );
    expect(refused).toMatch(/NOT_ENOUGH_REPLICAS|not enough replicas|fewer in-sync replicas/i);
  });

  it('the killed node started again (startService): it rejoins and the ISR is back to 3; the survivors kept running', async () => {
    const others = nodeIds.filter((id) => id !== victim).map((id) => [id, nodePid(id)]);
    const t0 = Date.now();
    await startService('kafka', { config });
    const newPid = nodePid(victim)!;
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(victimPid);
    startedPids.add(newPid);
    expect(others.map(([id]) => [id, nodePid(id!)])).toEqual(others); // only the missing node was started
    const [state] = await waitFor('ISR back to 3', () => partitionStates(config.kafka.brokers, TOPIC), (s) => s[0]?.isr.length === 3);
    console.log(`cluster: node ${victim} started again and back in the ISR after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(state!.isr).toEqual([1, 2, 3]);
    expect(await clusterBrokerIds(config.kafka.brokers)).toEqual([1, 2, 3]);
  });

  it('`down` stops all three nodes and Toxiproxy: no process of this STACK_DIR is left', async () => {
    const t0 = Date.now();
    const { stopped } = await stackDown({ config });
    console.log(`cluster: down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect([...stopped].sort()).toEqual(['kafka-1', 'kafka-2', 'kafka-3', 'toxiproxy']);
    for (const pid of startedPids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(processesOfDir()).toEqual([]);
    for (const id of nodeIds) expect(nodePid(id)).toBeUndefined();
  });
});
