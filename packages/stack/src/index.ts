export { stackUp, stackDown, stackStatus, formatStatus, startService, stopService, ensurePgbouncer, stopPgbouncer, type RestartableService, type StackOptions } from './stack.ts';
export { findPgbouncer, pgbouncerIni, pgbouncerVersion, PGBOUNCER_POOL_MODE } from './pgbouncer.ts';
export { proxySpecs, TOXIPROXY_MODULE, type ProxySpec } from './toxiproxy.ts';
export { serverProperties, kafkaAnswers } from './kafka.ts';
export { layout, SERVICE_NAMES, OPTIONAL_SERVICE_NAMES, type ServiceName } from './layout.ts';
export { runningFromPidFile, isAlive } from './process.ts';
export type { ServiceStatus, Progress } from './types.ts';
// The building blocks, for tools that run services of their own next to the stack (the benchmark's peers).
export { canConnect, postgresBinaries, serverUser, POSTGRES_SETTINGS } from './postgres.ts';
export { run, runToLog, startDetached, stopFromPidFile, tailFile } from './process.ts';
export { freePort, isListening, pidListeningOn, whoListensOn } from './net.ts';
export { requireJava17, requireMaven } from './prerequisites.ts';
