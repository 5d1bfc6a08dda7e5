export { stackUp, stackDown, stackStatus, formatStatus, startService, stopService, stopKafkaNode, ensurePgbouncer, stopPgbouncer, type RestartableService, type StackOptions } from './stack.ts';
export { findPgbouncer, pgbouncerIni, pgbouncerVersion, PGBOUNCER_POOL_MODE } from './pgbouncer.ts';
export { proxySpecs, startToxiproxy, TOXIPROXY_MODULE, type ProxySpec } from './toxiproxy.ts';
export { serverProperties, clusterNodeProperties, kafkaAnswers, clusterBrokerIds, partitionStates, describeQuorum, topicSettings, CLUSTER_NODE_HEAP, CLUSTER_REPLICATION_FACTOR, CLUSTER_MIN_INSYNC_REPLICAS, type PartitionState, type QuorumStatus } from './kafka.ts';
export { layout, SERVICE_NAMES, OPTIONAL_SERVICE_NAMES, KAFKA_NODE_NAMES, kafkaNodeName, type ServiceName, type KafkaNodeName } from './layout.ts';
export { runningFromPidFile, isAlive } from './process.ts';
export type { ServiceStatus, Progress } from './types.ts';
// The building blocks, for tools that run services of their own next to the stack (the benchmark's peers).
export { canConnect, postgresBinaries, serverUser, POSTGRES_SETTINGS } from './postgres.ts';
export { run, runToLog, startDetached, stopFromPidFile, tailFile } from './process.ts';
export { freePort, isListening, pidListeningOn, whoListensOn } from './net.ts';
export { requireJava17, requireMaven } from './prerequisites.ts';
