/** `up`, `down`, `status`: the whole local stack, in dependency order, idempotent. */
import path from 'node:path';
import { DwError, resolveConfig, type ConfigOverrides, type LabConfig } from '@dual-write/config';
import { ensureKafkaJars, kafkaAnswers, kafkaClusterStatus, kafkaStatus, startKafka } from './kafka.ts';
import { KAFKA_NODE_NAMES, kafkaNodeName, layout, type ServiceName } from './layout.ts';
import { withFileLock } from './lock.ts';
import { pgbouncerStatus, startPgbouncer } from './pgbouncer.ts';
import { postgresStatus, startPostgres } from './postgres.ts';
import { stopFromPidFile, runningFromPidFile } from './process.ts';
import { ensureToxiproxyBinary, startToxiproxy, toxiproxyStatus, toxiproxyVersion } from './toxiproxy.ts';
import type { Progress, ServiceStatus } from './types.ts';

export interface StackOptions {
  config?: LabConfig;
  overrides?: ConfigOverrides;
  progress?: Progress;
}

const quiet: Progress = () => {};

function setup(opts: StackOptions) {
  const config = opts.config ?? resolveConfig(opts.overrides);
  return { config, paths: layout(config), progress: opts.progress ?? quiet };
}

/** Starts whatever is not already healthy; reuses what is. Safe to call concurrently and repeatedly. */
export async function stackUp(opts: StackOptions = {}): Promise<ServiceStatus[]> {
  const { config, paths, progress } = setup(opts);
  const started = Date.now();
  return withFileLock(
    path.join(paths.run, 'up.lock'),
    async () => {
      // First-run downloads go in parallel: the Toxiproxy build and the Kafka jars.
      const needToxiproxy = (await toxiproxyVersion(config)) === undefined;
      const needKafka = config.kafka.managed && !(await kafkaAnswers(config.kafka.brokers));
      await Promise.all([
        needToxiproxy ? ensureToxiproxyBinary(config, paths, progress) : undefined,
        needKafka ? ensureKafkaJars(config, paths, progress) : undefined,
      ]);
      await startToxiproxy(config, paths, progress);
      await Promise.all([startPostgres(config, paths, progress), startKafka(config, paths, progress)]);
      if (config.pgbouncer.enabled) await startPgbouncer(config, paths, progress);
      if (config.viaProxy && !(await kafkaAnswers(config.kafka.appBrokers))) {
        progress(`warning: Kafka does not answer through the kafka proxy (${config.kafka.appBrokers.join(',')}); check \`npm run stack -- logs toxiproxy\``);
      }
      const statuses = await stackStatus({ config });
      progress(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return statuses;
    },
    (holder) => progress(`waiting for another \`stack up\` (pid ${holder}) to finish…`),
  );
}

/** Stops only the processes this stack started (recorded in pid files); leaves anything external alone. */
export async function stackDown(opts: StackOptions = {}): Promise<{ stopped: ServiceName[]; leftRunning: string[] }> {
  const { config, paths, progress } = setup(opts);
  const stopped: ServiceName[] = [];
  // Kafka: the single broker and every cluster node this STACK_DIR started, whatever KAFKA_NODES says now.
  const order: [ServiceName[], NodeJS.Signals][] = [
    [['pgbouncer'], 'SIGTERM'], // immediate shutdown: its clients' connections close, PostgreSQL rolls their transactions back
    [['kafka', ...KAFKA_NODE_NAMES], 'SIGTERM'], // the cluster's nodes together: one by one, the last would wait for a quorum that is gone
    [['postgres'], 'SIGINT'], // "fast shutdown": rolls back open transactions, then exits cleanly
    [['toxiproxy'], 'SIGTERM'],
  ];
  for (const [names, signal] of order) {
    await Promise.all(
      names.map(async (name) => {
        const rec = runningFromPidFile(paths.pidFile(name));
        if (await stopFromPidFile(paths.pidFile(name), signal)) {
          stopped.push(name);
          progress(`${name}: stopped (pid ${rec?.pid})`);
        }
      }),
    );
  }
  const leftRunning = (await stackStatus({ config })).filter((s) => s.state !== 'stopped').map((s) => s.name);
  for (const name of leftRunning) progress(`${name}: still answering, but not started by this stack — left alone`);
  return { stopped, leftRunning };
}

/** The services a chaos schedule may stop and start again (Toxiproxy holds the faults, so it stays up). */
export type RestartableService = 'kafka' | 'postgres';

/**
 * Stops one service this stack started — `SIGTERM` (Kafka: controlled shutdown), `SIGINT` (PostgreSQL: fast
 * shutdown, open transactions rolled back), or `SIGKILL` for a crash. Refuses a service the stack does not
 * manage (KAFKA_BROKERS / DATABASE_URL set): it is not ours to stop. Resolves to the stopped pid.
 */
export async function stopService(name: RestartableService, opts: StackOptions & { signal?: NodeJS.Signals } = {}): Promise<number> {
  const { config, paths, progress } = setup(opts);
  const managed = name === 'kafka' ? config.kafka.managed : config.database.managed;
  if (!managed) {
    throw new DwError('DW_CONFIG_INVALID', `${name} is not run by this stack (${name === 'kafka' ? 'KAFKA_BROKERS' : 'DATABASE_URL'} is set), so it cannot be stopped and started here.`, `Unset ${name === 'kafka' ? 'KAFKA_BROKERS' : 'DATABASE_URL'} to let the stack run it, or leave ${name} restarts out of the schedule.`);
  }
  const signal = opts.signal ?? (name === 'postgres' ? 'SIGINT' : 'SIGTERM');
  if (name === 'kafka' && config.kafka.nodeCount === 3) {
    // The whole cluster: every node, at once.
    const recs = config.kafka.nodes.map((n) => runningFromPidFile(paths.pidFile(kafkaNodeName(n.id))));
    if (recs.every((r) => !r)) throw new DwError('DW_STACK_NOT_RUNNING', `No node of the Kafka cluster is running (no live pid in ${paths.run}/kafka-<n>.pid).`, 'Start the cluster: npm run stack -- up --kafka-nodes 3');
    await Promise.all(config.kafka.nodes.map((n) => stopFromPidFile(paths.pidFile(kafkaNodeName(n.id)), signal)));
    progress(`kafka: cluster stopped (pids ${recs.filter((r) => r).map((r) => r!.pid).join(', ')}, ${signal})`);
    return recs.find((r) => r)!.pid;
  }
  const rec = runningFromPidFile(paths.pidFile(name));
  if (!rec) throw new DwError('DW_STACK_NOT_RUNNING', `${name} is not running (no live pid in ${paths.pidFile(name)}).`, 'Start the stack: npm run stack -- up');
  await stopFromPidFile(paths.pidFile(name), signal);
  progress(`${name}: stopped (pid ${rec.pid}, ${signal})`);
  return rec.pid;
}

/**
 * KAFKA_NODES=3: stops one node of the cluster (SIGKILL by default: a crash). `startService('kafka')` starts it
 * again (it starts whichever nodes are not running). Resolves to the stopped pid.
 */
export async function stopKafkaNode(id: number, opts: StackOptions & { signal?: NodeJS.Signals } = {}): Promise<number> {
  const { config, paths, progress } = setup(opts);
  if (config.kafka.nodeCount !== 3 || !config.kafka.managed) {
    throw new DwError('DW_CONFIG_INVALID', `Stopping one Kafka node needs the stack's cluster (KAFKA_NODES=3, KAFKA_BROKERS unset); here KAFKA_NODES=${config.kafka.nodeCount}${config.kafka.managed ? '' : ' and KAFKA_BROKERS is set'}.`, 'Run `npm run stack -- up --kafka-nodes 3` and set KAFKA_NODES=3 for this command too.');
  }
  if (!config.kafka.nodes.some((n) => n.id === id)) throw new DwError('DW_CONFIG_INVALID', `There is no Kafka node ${id}: the cluster's nodes are ${config.kafka.nodes.map((n) => n.id).join(', ')}.`, 'Choose a node from 1 to 3.');
  const name = kafkaNodeName(id);
  const rec = runningFromPidFile(paths.pidFile(name));
  if (!rec) throw new DwError('DW_STACK_NOT_RUNNING', `${name} is not running (no live pid in ${paths.pidFile(name)}).`, 'Start the cluster: npm run stack -- up --kafka-nodes 3');
  const signal = opts.signal ?? 'SIGKILL';
  await stopFromPidFile(paths.pidFile(name), signal);
  progress(`${name}: stopped (pid ${rec.pid}, ${signal})`);
  return rec.pid;
}

/** Starts one service again (a no-op when it already answers); resolves once it is ready. */
export async function startService(name: RestartableService, opts: StackOptions = {}): Promise<void> {
  const { config, paths, progress } = setup(opts);
  await (name === 'kafka' ? startKafka(config, paths, progress) : startPostgres(config, paths, progress));
}

/**
 * PgBouncer on demand (what the pooler tests call): starts it unless it already answers, whatever PGBOUNCER says.
 * `startedNow` tells the caller whether to stop it again (stopPgbouncer) so it leaves the stack as it found it.
 */
export async function ensurePgbouncer(opts: StackOptions = {}): Promise<{ url: string; startedNow: boolean }> {
  const { config, paths, progress } = setup(opts);
  return withFileLock(
    path.join(paths.run, 'up.lock'),
    async () => {
      const before = (await pgbouncerStatus({ ...config, pgbouncer: { ...config.pgbouncer, enabled: true } }, paths))!;
      if (before.state === 'stopped') await startPgbouncer(config, paths, progress);
      else progress(`pgbouncer: ${before.state === 'running' ? `already running (pid ${before.pid})` : 'reusing the server that answers'} at ${config.pgbouncer.host}:${config.pgbouncer.port}`);
      return { url: config.pgbouncer.url, startedNow: before.state === 'stopped' };
    },
    (holder) => progress(`waiting for another \`stack up\` (pid ${holder}) to finish…`),
  );
}

/** Stops the PgBouncer this stack started (its pid file); true if one was stopped. */
export async function stopPgbouncer(opts: StackOptions = {}): Promise<boolean> {
  const { paths, progress } = setup(opts);
  const rec = runningFromPidFile(paths.pidFile('pgbouncer'));
  const stopped = await stopFromPidFile(paths.pidFile('pgbouncer'), 'SIGTERM');
  if (stopped) progress(`pgbouncer: stopped (pid ${rec?.pid})`);
  return stopped;
}

/** The three services, then the optional ones that are enabled or running (PgBouncer). */
export async function stackStatus(opts: StackOptions = {}): Promise<ServiceStatus[]> {
  const { config, paths } = setup(opts);
  const kafka = config.kafka.nodeCount === 3 ? kafkaClusterStatus(config, paths) : kafkaStatus(config, paths).then((s) => [s]);
  const [toxiproxy, postgres, kafkaAll, pgbouncer] = await Promise.all([toxiproxyStatus(config, paths), postgresStatus(config, paths), kafka, pgbouncerStatus(config, paths)]);
  return [toxiproxy, postgres, ...kafkaAll, pgbouncer].filter((s): s is ServiceStatus => s !== undefined);
}

export function formatStatus(statuses: ServiceStatus[]): string {
  const lines: string[] = [];
  for (const s of statuses) {
    const head = `${s.name.padEnd(10)} ${s.state.padEnd(8)}${s.pid ? ` pid ${s.pid}` : ''}${s.version ? `  v${s.version.replace(/^v/, '')}` : ''}`;
    lines.push(head);
    for (const l of s.listens) lines.push(`             ${l}`);
  }
  return lines.join('\n');
}
