/** Where the stack keeps its files: everything under one git-ignored folder (STACK_DIR, default .stack/). */
import path from 'node:path';
import type { LabConfig } from '@dual-write/config';

/** A node of the KAFKA_NODES=3 cluster: its pid file, log and Toxiproxy proxy share the name. */
export type KafkaNodeName = 'kafka-1' | 'kafka-2' | 'kafka-3';
export type ServiceName = 'toxiproxy' | 'postgres' | 'kafka' | 'pgbouncer' | KafkaNodeName;
/** The cluster's nodes (KAFKA_NODES=3), by id 1–3. */
export const KAFKA_NODE_NAMES: readonly KafkaNodeName[] = ['kafka-1', 'kafka-2', 'kafka-3'];
export const kafkaNodeName = (id: number): KafkaNodeName => `kafka-${id}` as KafkaNodeName;
/** The services `stack up` always runs (or reuses). */
export const SERVICE_NAMES: readonly ServiceName[] = ['toxiproxy', 'postgres', 'kafka'];
/** Services the stack runs only when asked (PGBOUNCER=true, or ensurePgbouncer()). */
export const OPTIONAL_SERVICE_NAMES: readonly ServiceName[] = ['pgbouncer'];

export function layout(config: LabConfig) {
  const root = config.stackDir;
  return {
    root,
    bin: path.join(config.cacheDir, 'bin'),
    logs: path.join(root, 'logs'),
    run: path.join(root, 'run'),
    logFile: (s: ServiceName | string) => path.join(root, 'logs', `${s}.log`),
    pidFile: (s: ServiceName) => path.join(root, 'run', `${s}.pid`),
    kafkaLibs: path.join(config.cacheDir, 'kafka', `libs-${config.kafka.version}`),
    kafkaData: path.join(root, 'kafka', 'data'),
    kafkaProperties: path.join(root, 'kafka', 'server.properties'),
    kafkaPom: path.join(config.cacheDir, 'kafka', `pom-${config.kafka.version}.xml`),
    /** KAFKA_NODES=3 keeps everything in a folder of its own, so switching between 1 and 3 nodes is safe. */
    kafkaCluster: path.join(root, 'kafka-cluster'),
    kafkaClusterIdFile: path.join(root, 'kafka-cluster', 'cluster-id'),
    kafkaNodeData: (id: number) => path.join(root, 'kafka-cluster', `kafka-${id}`, 'data'),
    kafkaNodeProperties: (id: number) => path.join(root, 'kafka-cluster', `kafka-${id}`, 'server.properties'),
    postgresData: path.join(root, 'postgres', 'data'),
    pgbouncerDir: path.join(root, 'pgbouncer'),
    toxiproxyBinary: path.join(config.cacheDir, 'bin', `toxiproxy-server-${config.toxiproxy.version}`),
  };
}
export type Layout = ReturnType<typeof layout>;
