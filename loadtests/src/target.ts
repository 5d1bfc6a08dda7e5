/** The order service a load test runs against: the one at --base-url, or the system started in-process (stopped by `cleanup`). */
import { DwError, type LabConfig } from '@dual-write/config';
import type { Cleanup } from '@dual-write/faults';
import { startSystem, type SystemOptions } from '@dual-write/lab';

export type InProcessSystem = Pick<SystemOptions, 'databaseUrl' | 'directDatabaseUrl' | 'topic' | 'groupSuffix'>;

export async function resolveTarget(opts: { config: LabConfig; baseUrl?: string; system?: InProcessSystem; cleanup: Cleanup; progress: (l: string) => void }): Promise<string> {
  let baseUrl = opts.baseUrl;
  if (!baseUrl) {
    const { config } = opts;
    opts.progress('starting the order service (with shipping and billing) in-process…');
    // No relay /metrics server: the fixed RELAY_PORT (9464) belongs to `npm start`'s relay, which may be running.
    const system = await startSystem({ config, port: 0, log: () => {}, relayPort: false, ...opts.system });
    opts.cleanup.defer('stop the in-process system', () => system.stop());
    baseUrl = system.url;
    opts.progress(`order service on ${baseUrl}: pool of ${config.orderService.poolMax} connections, acquire timeout ${config.orderService.poolAcquireTimeoutMs} ms`);
  }
  await assertAnswers(baseUrl);
  return baseUrl;
}

async function assertAnswers(baseUrl: string): Promise<void> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
  } catch (err) {
    throw new DwError('DW_STACK_NOT_RUNNING', `The order service at ${baseUrl} does not answer (${(err as Error).message}).`, 'Start it (npm start), fix --base-url, or leave --base-url out to run one in-process.');
  }
}
