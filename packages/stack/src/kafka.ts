/**
 * Apache Kafka 4 in KRaft mode, single node, from Maven Central jars (fetched once by Maven, kept in STACK_DIR).
 *
 * Two client listeners: DIRECT (advertised as itself, for the auditor and test set-up) and PROXIED
 * (advertised as the `kafka` Toxiproxy proxy). A client that bootstraps through the proxy learns the
 * proxy's address from metadata and keeps talking through it, so toxics really hit its traffic.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader sees only some of its named exports, not this one.
const { ConfigResourceTypes } = kafkajs;
import { DwError, ORDERS_TOPIC_CONFIG, parseHostPort, type LabConfig } from '@dual-write/config';
import type { Layout } from './layout.ts';
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

/** Creates the lab's topics if missing (auto-create is off on purpose), with ORDERS_TOPIC_CONFIG; sets it on an older one. */
export async function ensureTopics(config: LabConfig, progress: Progress): Promise<void> {
  const admin = kafkaAdmin(config.kafka.brokers);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const { name, partitions } = config.topics.orders;
    if (!existing.has(name)) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1, configEntries: [...ORDERS_TOPIC_CONFIG] }], waitForLeaders: true });
      progress(`kafka: created topic ${name} (${partitions} partitions)`);
      return;
    }
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ORDERS_TOPIC_CONFIG.map((c) => c.name) }] });
    const current = new Map((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
    if (ORDERS_TOPIC_CONFIG.some((c) => current.get(c.name) !== c.value)) {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [...ORDERS_TOPIC_CONFIG] }] });
      progress(`kafka: topic ${name} set to ${ORDERS_TOPIC_CONFIG.map((c) => `${c.name}=${c.value}`).join(', ')}`);
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
