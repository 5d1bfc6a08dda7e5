/** Where the stack keeps its files: everything under one git-ignored folder (STACK_DIR, default .stack/). */
import path from 'node:path';
import type { LabConfig } from '@dual-write/config';

export type ServiceName = 'toxiproxy' | 'postgres' | 'kafka' | 'pgbouncer';
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
    postgresData: path.join(root, 'postgres', 'data'),
    pgbouncerDir: path.join(root, 'pgbouncer'),
    toxiproxyBinary: path.join(config.cacheDir, 'bin', `toxiproxy-server-${config.toxiproxy.version}`),
  };
}
export type Layout = ReturnType<typeof layout>;
