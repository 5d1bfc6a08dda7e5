/**
 * Ctrl-C / SIGTERM for a command that put faults in place: run its undo steps (the toxic first), then exit
 * 128+signal. The same Ctrl-C often arrives more than once (from the terminal and relayed by pnpm/tsx), so
 * later signals do not cut the cleanup short; it gets `graceMs` (default 30 s).
 */
import type { Cleanup } from './cleanup.ts';

export interface SignalCleanupOptions {
  /** Where progress lines go. */
  say: (line: string) => void;
  /** What the cleanup does, for the line printed on the first signal, e.g. "removing the toxic". */
  doing?: string;
  graceMs?: number;
}

/** Installs the SIGINT/SIGTERM handlers; the returned function removes them (e.g. in a test). */
export function runCleanupOnSignals(cleanup: Cleanup, opts: SignalCleanupOptions): () => void {
  let stopping = false;
  const graceMs = opts.graceMs ?? 30_000;
  const handle = (signal: NodeJS.Signals, code: number) => {
    if (stopping) {
      opts.say(`${signal} again: still cleaning up (it cannot be skipped; at most ${graceMs / 1000} s)…`);
      return;
    }
    stopping = true;
    opts.say(`${signal}: ${opts.doing ?? 'undoing what this run put in place'}…`);
    setTimeout(() => {
      opts.say(`cleanup did not finish within ${graceMs / 1000} s; exiting`);
      process.exit(code);
    }, graceMs).unref();
    void cleanup.runAll().then((errors) => {
      for (const e of errors) opts.say(`cleanup failed: ${e.message}`);
      process.exit(code);
    });
  };
  const onInt = () => handle('SIGINT', 130);
  const onTerm = () => handle('SIGTERM', 143);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}
