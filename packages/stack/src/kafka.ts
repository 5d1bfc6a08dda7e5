/**
 * Apache Kafka 4 in KRaft mode, single node, from Maven Central jars (fetched once by Maven, kept in STACK_DIR).
 *
 * Two client listeners: DIRECT (advertised as itself, for the auditor and test set-up) and PROXIED
 * (advertised as the `kafka` Toxiproxy proxy). A client that bootstraps through the proxy learns the
 * proxy's address from metadata and keeps talking through it, so toxics really hit its traffic.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs, { Kafka, logLevel } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader sees only some of its named exports, not this one.
const { ConfigResourceTypes } = kafkajs;
import { DwError, ORDERS_TOPIC_CONFIG, parseHostPort, type KafkaNode, type LabConfig } from '@dual-write/config';
import { kafkaNodeName, type Layout } from './layout.ts';
import { isListening } from './net.ts';
import { run, runningFromPidFile, runToLog, startDetached, stopFromPidFile, tailFile } from './process.ts';
import { requireJava17, requireMaven } from './prerequisites.ts';
import { portTaken } from './toxiproxy.ts';
import { waitUntilReady } from './wait.ts';
import type { Progress, ServiceStatus } from './types.ts';

function pomXml(version: string): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.dual-write-lab</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

/** Fetches kafka_2.13:<version> and its runtime dependencies into STACK_DIR/kafka/libs-<version> (once). */
export async function ensureKafkaJars(config: LabConfig, paths: Layout, progress: Progress): Promise<string> {
  const done = path.join(paths.kafkaLibs, '.complete');
  if (existsSync(done)) return paths.kafkaLibs;
  requireJava17();
  requireMaven();
  progress(`kafka: fetching org.apache.kafka:kafka_2.13:${config.kafka.version} and dependencies with Maven (first run only)…`);
  mkdirSync(path.dirname(paths.kafkaPom), { recursive: true });
  writeFileSync(paths.kafkaPom, pomXml(config.kafka.version));
  const tmp = `${paths.kafkaLibs}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const logFile = paths.logFile('kafka-install');
  const code = await runToLog('mvn', ['-B', '-q', '-f', paths.kafkaPom, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'], logFile);
  if (code !== 0) {
    throw new DwError('DW_DOWNLOAD_FAILED', `Maven could not fetch Kafka ${config.kafka.version} (exit ${code}). Last lines:\n${tailFile(logFile, 15)}`, 'Check that Maven Central is reachable (`mvn -v`, ~/.m2/settings.xml) and KAFKA_VERSION names a released 4.x version; or point KAFKA_BROKERS at a running Kafka.');
  }
  rmSync(paths.kafkaLibs, { recursive: true, force: true });
  renameSync(tmp, paths.kafkaLibs);
  writeFileSync(done, new Date().toISOString());
  progress(`kafka: ${readdirSync(paths.kafkaLibs).length - 1} jars ready`);
  return paths.kafkaLibs;
}

export function serverProperties(config: LabConfig, paths: Layout): string {
  const direct = parseHostPort('KAFKA_BROKERS', config.kafka.brokers[0]!);
  const { proxiedListenerPort, controllerPort, proxyPort } = config.kafka;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=DIRECT://127.0.0.1:${direct.port},PROXIED://127.0.0.1:${proxiedListenerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=DIRECT://127.0.0.1:${direct.port},PROXIED://127.0.0.1:${proxyPort}`,
    'listener.security.protocol.map=DIRECT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=DIRECT',
    'controller.listener.names=CONTROLLER',
    `log.dirs=${paths.kafkaData}`,
    'auto.create.topics.enable=false',
    `num.partitions=${config.topics.orders.partitions}`,
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    '',
  ].join('\n');
}

/** KAFKA_NODES=3: topics get this replication factor and min.insync.replicas (internal topics too). */
export const CLUSTER_REPLICATION_FACTOR = 3;
export const CLUSTER_MIN_INSYNC_REPLICAS = 2;
/** Heap of each cluster node's JVM (the single broker keeps -Xmx1g): three nodes fit a small machine. */
export const CLUSTER_NODE_HEAP = '512m';

/** server.properties of one node of the KAFKA_NODES=3 cluster: combined broker+controller, a 3-voter static quorum. */
export function clusterNodeProperties(config: LabConfig, paths: Layout, node: KafkaNode): string {
  const rf = CLUSTER_REPLICATION_FACTOR;
  const isr = CLUSTER_MIN_INSYNC_REPLICAS;
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${config.kafka.nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')}`,
    `listeners=DIRECT://127.0.0.1:${node.directPort},PROXIED://127.0.0.1:${node.proxiedListenerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=DIRECT://127.0.0.1:${node.directPort},PROXIED://127.0.0.1:${node.proxyPort}`,
    'listener.security.protocol.map=DIRECT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=DIRECT',
    'controller.listener.names=CONTROLLER',
    `log.dirs=${paths.kafkaNodeData(node.id)}`,
    'auto.create.topics.enable=false',
    `num.partitions=${config.topics.orders.partitions}`,
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${isr}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=6',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${isr}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${isr}`,
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    '',
  ].join('\n');
}

function kafkaAdmin(brokers: string[]) {
  return new Kafka({ clientId: 'dual-write-stack', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
}

/** Ready means a real metadata request succeeds, on the given bootstrap address. */
export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = kafkaAdmin(brokers);
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The lab's topic settings: ORDERS_TOPIC_CONFIG; on the cluster also replication factor 3 and min.insync.replicas 2. */
export function topicSettings(config: LabConfig): { replicationFactor: number; configEntries: { name: string; value: string }[] } {
  if (config.kafka.nodeCount === 1) return { replicationFactor: 1, configEntries: [...ORDERS_TOPIC_CONFIG] };
  return { replicationFactor: CLUSTER_REPLICATION_FACTOR, configEntries: [...ORDERS_TOPIC_CONFIG, { name: 'min.insync.replicas', value: String(CLUSTER_MIN_INSYNC_REPLICAS) }] };
}

/** Creates the lab's topics if missing (auto-create is off on purpose), with ORDERS_TOPIC_CONFIG; sets it on an older one. */
export async function ensureTopics(config: LabConfig, progress: Progress): Promise<void> {
  const admin = kafkaAdmin(config.kafka.brokers);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const { name, partitions } = config.topics.orders;
    const { replicationFactor, configEntries } = topicSettings(config);
    if (!existing.has(name)) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor, configEntries }], waitForLeaders: true });
      progress(`kafka: created topic ${name} (${partitions} partitions${replicationFactor > 1 ? `, replication factor ${replicationFactor}, min.insync.replicas ${CLUSTER_MIN_INSYNC_REPLICAS}` : ''})`);
      return;
    }
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: configEntries.map((c) => c.name) }] });
    const current = new Map((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
    if (configEntries.some((c) => current.get(c.name) !== c.value)) {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries }] });
      progress(`kafka: topic ${name} set to ${configEntries.map((c) => `${c.name}=${c.value}`).join(', ')}`);
    }
  } finally {
    await admin.disconnect();
  }
}

export async function startKafka(config: LabConfig, paths: Layout, progress: Progress): Promise<void> {
  const direct = parseHostPort('KAFKA_BROKERS', config.kafka.brokers[0]!);
  if (!config.kafka.managed) {
    if (!(await kafkaAnswers(config.kafka.brokers))) {
      throw new DwError('DW_STACK_NOT_RUNNING', `KAFKA_BROKERS is set, but ${config.kafka.brokers.join(',')} does not answer a metadata request.`, 'Start your Kafka, fix KAFKA_BROKERS, or unset it to let the stack run one.');
    }
    progress(`kafka: using your broker(s) at ${config.kafka.brokers.join(',')} (KAFKA_BROKERS)`);
    await ensureTopics(config, progress);
    return;
  }
  if (config.kafka.nodeCount === 3) return startKafkaCluster(config, paths, progress);
  const pidFile = paths.pidFile('kafka');
  const ours = runningFromPidFile(pidFile);
  if (await kafkaAnswers(config.kafka.brokers)) {
    progress(`kafka: ${ours ? `already running (pid ${ours.pid})` : 'reusing the broker that answers'} at ${config.kafka.brokers.join(',')}`);
    await ensureTopics(config, progress);
    return;
  }
  if (ours) await stopFromPidFile(pidFile);
  for (const [port, setting] of [
    [direct.port, 'KAFKA_BROKERS (its port)'],
    [config.kafka.proxiedListenerPort, 'KAFKA_PROXIED_LISTENER_PORT'],
    [config.kafka.controllerPort, 'KAFKA_CONTROLLER_PORT'],
  ] as const) {
    if (await isListening('127.0.0.1', port)) throw portTaken('Kafka', port, setting);
  }
  const libs = await ensureKafkaJars(config, paths, progress);
  requireJava17();
  mkdirSync(path.dirname(paths.kafkaProperties), { recursive: true });
  writeFileSync(paths.kafkaProperties, serverProperties(config, paths));
  const classpath = `${libs}/*`;
  if (!existsSync(path.join(paths.kafkaData, 'meta.properties'))) {
    progress('kafka: formatting KRaft storage (first run only)…');
    const id = run('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
    const clusterId = id.stdout.trim().split('\n').pop()?.trim();
    if (id.status !== 0 || !clusterId) {
      throw new DwError('DW_PROCESS_FAILED', `kafka-storage random-uuid failed:\n${id.stderr.slice(-1500)}`, `Remove ${paths.kafkaLibs} so the jars are fetched again.`);
    }
    const fmt = run('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', paths.kafkaProperties]);
    if (fmt.status !== 0) {
      throw new DwError('DW_PROCESS_FAILED', `Formatting Kafka storage failed:\n${(fmt.stderr + fmt.stdout).slice(-1500)}`, `Remove ${paths.kafkaData} and run \`npm run stack -- up\` again.`);
    }
  }
  const rec = startDetached({
    command: 'java',
    args: [
      '-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.storage.internals.log=warn',
      '-Ddual-write-lab.kafka=1',
      '-cp', classpath, 'kafka.Kafka', paths.kafkaProperties,
    ],
    logFile: paths.logFile('kafka'),
    pidFile,
    marker: 'dual-write-lab.kafka',
  });
  await waitUntilReady({
    service: 'kafka',
    probe: () => kafkaAnswers(config.kafka.brokers),
    timeoutMs: config.readyTimeoutMs,
    logFile: paths.logFile('kafka'),
    stillRunning: () => runningFromPidFile(pidFile)?.pid === rec.pid,
    intervalMs: 500,
  });
  progress(`kafka: started (pid ${rec.pid}) — Kafka ${config.kafka.version}, KRaft, at ${config.kafka.brokers.join(',')}`);
  await ensureTopics(config, progress);
}

/** The brokers the cluster's metadata lists (ids), asked of `brokers`; undefined when none answers. */
export async function clusterBrokerIds(brokers: string[]): Promise<number[] | undefined> {
  const admin = kafkaAdmin(brokers);
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const nodeAddress = (n: KafkaNode) => `127.0.0.1:${n.directPort}`;

/**
 * One node answers the Kafka protocol on `address` (the client's connect: ApiVersions and metadata from that node
 * alone). Not describeCluster: it may go to another broker of the metadata — a dead one, while this node is fine.
 */
export async function nodeAnswers(address: string): Promise<boolean> {
  const admin = kafkaAdmin([address]);
  try {
    await admin.connect();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** A cluster id as Kafka makes them (Uuid.randomUuid: 16 random bytes, base64url), kept in STACK_DIR/kafka-cluster/cluster-id. */
function clusterId(paths: Layout): string {
  if (existsSync(paths.kafkaClusterIdFile)) return readFileSync(paths.kafkaClusterIdFile, 'utf8').trim();
  let id = randomBytes(16).toString('base64url');
  while (id.startsWith('-')) id = randomBytes(16).toString('base64url'); // Kafka's own ids never start with '-'
  mkdirSync(paths.kafkaCluster, { recursive: true });
  writeFileSync(paths.kafkaClusterIdFile, `${id}\n`);
  return id;
}

/** `java -cp … <main> args`, asynchronously (three formats or quorum queries at once), with its output. */
export function runJava(classpath: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', classpath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 1, output: `${output}${String(err)}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** Starts one cluster node's JVM (its storage formatted first, once) and records its pid; does not wait. */
async function launchNode(config: LabConfig, paths: Layout, node: KafkaNode, classpath: string, id: string, progress: Progress) {
  const name = kafkaNodeName(node.id);
  for (const [port, setting] of [
    [node.directPort, 'KAFKA_CLUSTER_BROKERS'],
    [node.proxiedListenerPort, 'KAFKA_CLUSTER_PROXIED_LISTENER_PORTS'],
    [node.controllerPort, 'KAFKA_CLUSTER_CONTROLLER_PORTS'],
  ] as const) {
    if (await isListening('127.0.0.1', port)) throw portTaken(`Kafka node ${node.id}`, port, setting);
  }
  const props = paths.kafkaNodeProperties(node.id);
  mkdirSync(path.dirname(props), { recursive: true });
  writeFileSync(props, clusterNodeProperties(config, paths, node));
  if (!existsSync(path.join(paths.kafkaNodeData(node.id), 'meta.properties'))) {
    progress(`${name}: formatting KRaft storage (cluster ${id}, first run only)…`);
    const fmt = await runJava(classpath, ['kafka.tools.StorageTool', 'format', '-t', id, '-c', props]);
    if (fmt.code !== 0) {
      throw new DwError('DW_PROCESS_FAILED', `Formatting the storage of Kafka node ${node.id} failed:\n${fmt.output.slice(-1500)}`, `Remove ${paths.kafkaCluster} and run \`npm run stack -- up --kafka-nodes 3\` again.`);
    }
  }
  return startDetached({
    command: 'java',
    args: [
      '-Xms128m', `-Xmx${CLUSTER_NODE_HEAP}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.storage.internals.log=warn',
      `-Ddual-write-lab.kafka-node=${node.id}`,
      '-cp', classpath, 'kafka.Kafka', props,
    ],
    logFile: paths.logFile(name),
    pidFile: paths.pidFile(name),
    marker: `dual-write-lab.kafka-node=${node.id}`,
  });
}

/**
 * KAFKA_NODES=3: starts whichever of the three nodes is not running (all three the first time, one after a
 * chaos kill), then waits until every node answers and the metadata lists all three brokers.
 */
async function startKafkaCluster(config: LabConfig, paths: Layout, progress: Progress): Promise<void> {
  const started = Date.now();
  // A node whose process runs is left alone (it may be slow to answer while another node is down: the waits below
  // cover it); only a node with no live process is started.
  const missing = config.kafka.nodes.filter((node) => !runningFromPidFile(paths.pidFile(kafkaNodeName(node.id))));
  if (missing.length > 0) {
    const libs = await ensureKafkaJars(config, paths, progress);
    requireJava17();
    const id = clusterId(paths);
    const recs = await Promise.all(missing.map((node) => launchNode(config, paths, node, `${libs}/*`, id, progress)));
    await Promise.all(
      missing.map((node, i) =>
        waitUntilReady({
          service: kafkaNodeName(node.id),
          probe: () => nodeAnswers(nodeAddress(node)),
          timeoutMs: config.readyTimeoutMs,
          logFile: paths.logFile(kafkaNodeName(node.id)),
          stillRunning: () => runningFromPidFile(paths.pidFile(kafkaNodeName(node.id)))?.pid === recs[i]!.pid,
          intervalMs: 300,
        }),
      ),
    );
    for (const [i, node] of missing.entries()) progress(`${kafkaNodeName(node.id)}: started (pid ${recs[i]!.pid}) at ${nodeAddress(node)}`);
  } else {
    progress(`kafka: cluster already running (${config.kafka.nodes.map((n) => `${kafkaNodeName(n.id)} pid ${runningFromPidFile(paths.pidFile(kafkaNodeName(n.id)))?.pid}`).join(', ')})`);
  }
  const want = config.kafka.nodes.map((n) => n.id).join(',');
  await waitUntilReady({
    service: 'kafka cluster',
    probe: async () => (await clusterBrokerIds(config.kafka.nodes.map(nodeAddress)))?.join(',') === want,
    timeoutMs: config.readyTimeoutMs,
    logFile: paths.logFile(kafkaNodeName(missing[0]?.id ?? 1)),
    intervalMs: 300,
  });
  if (missing.length > 0) progress(`kafka: cluster of ${config.kafka.nodes.length} ready in ${((Date.now() - started) / 1000).toFixed(1)} s — Kafka ${config.kafka.version}, KRaft, brokers ${want} at ${config.kafka.nodes.map(nodeAddress).join(',')}`);
  await ensureTopics(config, progress);
}

export interface PartitionState {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** Leader, replicas and in-sync replicas of each partition of `topic`, from a fresh metadata request. */
export async function partitionStates(brokers: string[], topic: string): Promise<PartitionState[]> {
  const admin = kafkaAdmin(brokers);
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return (topics[0]?.partitions ?? [])
      .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas].sort(), isr: [...p.isr].sort() }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export interface QuorumStatus {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  voters: number[];
}

const QUORUM_STATUS_JAVA = fileURLToPath(new URL('../java/QuorumStatus.java', import.meta.url));

/**
 * The KRaft controller quorum through the admin API (Admin.describeMetadataQuorum — what kafka-metadata-quorum
 * uses; that tool's jar is not among the broker's dependencies), run by Java's single-file source launcher.
 */
export async function describeQuorum(config: LabConfig, paths: Layout, brokers: string[] = config.kafka.brokers): Promise<QuorumStatus> {
  const r = await runJava(`${paths.kafkaLibs}/*`, ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', QUORUM_STATUS_JAVA, brokers.join(',')], 30_000);
  const line = /^clusterId=(\S*) leaderId=(-?\d+) leaderEpoch=(\d+) highWatermark=(-?\d+) voters=(\S*)$/m.exec(r.output);
  if (r.code !== 0 || !line) {
    throw new DwError('DW_STACK_NOT_RUNNING', `The controller quorum could not be described at ${brokers.join(',')}:\n${r.output.slice(-800)}`, 'Start the cluster: npm run stack -- up --kafka-nodes 3');
  }
  return {
    clusterId: line[1]!,
    leaderId: Number(line[2]),
    leaderEpoch: Number(line[3]),
    voters: line[5]!.split(',').filter(Boolean).map((v) => Number(v.split(':')[0])).sort((a, b) => a - b),
  };
}

/** KAFKA_NODES=3: one line per node (pid, listeners) and one for the cluster with its controller quorum. */
export async function kafkaClusterStatus(config: LabConfig, paths: Layout): Promise<ServiceStatus[]> {
  const nodes = await Promise.all(
    config.kafka.nodes.map(async (n): Promise<ServiceStatus> => {
      const ours = runningFromPidFile(paths.pidFile(kafkaNodeName(n.id)));
      const up = await nodeAnswers(nodeAddress(n));
      return {
        name: kafkaNodeName(n.id),
        state: up ? (ours ? 'running' : 'external') : 'stopped',
        pid: ours?.pid,
        version: config.kafka.version,
        listens: [`direct ${nodeAddress(n)}`, `via proxy ${n.proxyName} 127.0.0.1:${n.proxyPort} (listener ${n.proxiedListenerPort})`, `controller 127.0.0.1:${n.controllerPort}`],
      };
    }),
  );
  const answering = nodes.filter((n) => n.state !== 'stopped');
  let quorum: string;
  let state: ServiceStatus['state'] = 'stopped';
  if (answering.length === 0) quorum = 'quorum: no node answers';
  else {
    try {
      const q = await describeQuorum(config, paths, config.kafka.nodes.filter((_, i) => nodes[i]!.state !== 'stopped').map(nodeAddress));
      quorum = `quorum: leader ${q.leaderId} (epoch ${q.leaderEpoch}), voters ${q.voters.join(',')}; cluster id ${q.clusterId}`;
      state = answering.every((n) => n.state === 'running') ? 'running' : 'external';
    } catch (err) {
      quorum = `quorum: unknown (${(err as Error).message.split('\n')[0]})`;
    }
  }
  return [
    { name: 'kafka', state, version: config.kafka.version, listens: [`cluster of ${config.kafka.nodes.length}: ${answering.length} node(s) answer`, quorum] },
    ...nodes,
  ];
}

export async function kafkaStatus(config: LabConfig, paths: Layout): Promise<ServiceStatus> {
  const ours = runningFromPidFile(paths.pidFile('kafka'));
  const up = await kafkaAnswers(config.kafka.brokers);
  return {
    name: 'kafka',
    state: up ? (ours ? 'running' : 'external') : 'stopped',
    pid: ours?.pid,
    version: config.kafka.managed ? config.kafka.version : undefined,
    listens: [`direct ${config.kafka.brokers.join(',')}`, `via proxy 127.0.0.1:${config.kafka.proxyPort}`, ...(config.kafka.managed ? [`controller 127.0.0.1:${config.kafka.controllerPort}`] : [])],
  };
}
