/**
 * The soak's relay runs as a process of its own (detached, like one started by `npm run relay`), so a chaos
 * step can kill -9 it for real and start it again. Its environment carries the soak's run id, so the soak
 * finds it — and whatever chaos restarted — at the end, and a later soak finds one an aborted soak left.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DwError, type LabConfig } from '@dual-write/config';
import { findRelayProcesses, relayOfStack } from '@dual-write/chaos';
import { isAlive, layout } from '@dual-write/stack';

export const SOAK_RUN_ENV = 'DW_SOAK_RUN';

export interface SoakRelayOptions {
  runId: string;
  /** The soak database's direct URL; the relay reaches it through the postgres proxy (VIA_PROXY). */
  databaseUrl: string;
  topic: string;
}

export function startSoakRelay(config: LabConfig, opts: SoakRelayOptions): { pid: number; logFile: string } {
  const logFile = path.join(layout(config).logs, 'relay.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(config.repoRoot, 'services/relay/src/main.ts')], {
      cwd: config.repoRoot,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        ORDERS_TOPIC: opts.topic,
        RELAY_PORT: '0',
        RELAY_LOG_LEVEL: 'info',
        [SOAK_RUN_ENV]: opts.runId,
      },
    });
    if (child.pid === undefined) throw new DwError('DW_PROCESS_FAILED', 'Could not start the relay process for the soak.', 'Run `npm run relay -- --help` to check the relay starts at all.');
    child.unref();
    return { pid: child.pid, logFile };
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM to the soak relays (of `runId`, or of any soak — of `config`'s stack only, when given: a soak on another
 * stack of the machine keeps its relays), SIGKILL after `graceMs`; resolves to how many.
 */
export async function stopSoakRelays(runId?: string, graceMs = 15_000, config?: LabConfig): Promise<number> {
  const found = findRelayProcesses(
    (env) => env[SOAK_RUN_ENV] !== undefined && (runId === undefined || env[SOAK_RUN_ENV] === runId) && (config === undefined || relayOfStack(config, env)),
  );
  for (const f of found) {
    try {
      process.kill(f.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (found.some((f) => isAlive(f.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const f of found.filter((x) => isAlive(x.pid))) {
    try {
      process.kill(f.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return found.length;
}
