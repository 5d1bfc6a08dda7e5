import { DwError } from '@dual-write/config';
import { tailFile } from './process.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns true. On timeout throws DW_NOT_READY with the tail of the service's log,
 * and fails fast if `stillRunning` says the process died.
 */
export async function waitUntilReady(opts: {
  service: string;
  probe: () => Promise<boolean>;
  timeoutMs: number;
  logFile: string;
  stillRunning?: () => boolean;
  intervalMs?: number;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await opts.probe().catch(() => false)) return;
    if (opts.stillRunning && !opts.stillRunning()) {
      throw new DwError('DW_PROCESS_FAILED', `${opts.service} exited during start-up. Last lines of ${opts.logFile}:\n${tailFile(opts.logFile)}`, `Read ${opts.logFile}; fix what it says, then run \`npm run stack -- up\` again.`);
    }
    if (Date.now() > deadline) {
      throw new DwError('DW_NOT_READY', `${opts.service} did not become ready within ${opts.timeoutMs} ms. Last lines of ${opts.logFile}:\n${tailFile(opts.logFile)}`, `Read the log above. On a slow machine raise STACK_READY_TIMEOUT_MS; then run \`npm run stack -- up\` again.`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}
