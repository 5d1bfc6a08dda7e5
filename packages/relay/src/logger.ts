/** Structured JSON logs (pino) on stdout, or a child of the caller's logger. */
import pino, { type Logger } from 'pino';
import type { RelayLogLevel } from './options.ts';

export function createLogger(opts: { logger: Logger | undefined; level: RelayLogLevel; instanceId: string }): Logger {
  if (opts.logger) return opts.logger.child({ component: 'outbox-relay', instanceId: opts.instanceId });
  return pino({ level: opts.level, base: { service: 'outbox-relay', instanceId: opts.instanceId, pid: process.pid } });
}
