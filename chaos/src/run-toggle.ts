/**
 * One chaos script's run: take the lab lock, undo what dead chaos processes left, put the faults in place,
 * hold them for --for (or until a signal), then undo them. Every undo step lives in `cleanup`, which the
 * CLI's signal handlers run too.
 */
import { DwError, type LabConfig } from '@dual-write/config';
import { acquireLabLock, Cleanup, ToxicHelper } from '@dual-write/faults';
import { formatDuration } from './duration.ts';
import { ChaosLedger, sweepLeftovers } from './ledger.ts';
import type { Say } from './log.ts';
import { putInPlace } from './faults-in-place.ts';
import type { Fault } from './toggles.ts';

export interface ChaosSession {
  faults: ToxicHelper;
  ledger: ChaosLedger;
  cleanup: Cleanup;
  say: Say;
  /** Puts a fault in place (its toxic named after `script`, default the session's); resolves to its undo. */
  put(fault: Fault, script?: string): Promise<() => Promise<void>>;
}

export interface SessionOptions {
  config: LabConfig;
  /** The script's name, in toxic names and the record. */
  script: string;
  /** Take the lab lock (false only when the caller holds it already, e.g. a test under useLab). */
  lock: boolean;
  say: Say;
  cleanup: Cleanup;
}

/** The lock, the sweep of leftovers and this process's record; undone by `cleanup`. */
export async function openSession(opts: SessionOptions): Promise<ChaosSession> {
  const { config, say, cleanup } = opts;
  if (opts.lock) {
    const release = await acquireLabLock(config, () => say('waiting for the lab lock: a test, a load run or another chaos script is using the proxies…'));
    cleanup.defer('release the lab lock', release);
  }
  const faults = new ToxicHelper(config.toxiproxy.url);
  try {
    await faults.client.getVersion();
  } catch (err) {
    throw new DwError(
      'DW_STACK_NOT_RUNNING',
      `Toxiproxy at ${config.toxiproxy.url} does not answer (${(err as Error).message}).`,
      'Start the stack (npm run stack -- up; `npm run chaos` does it for you), or point --toxiproxy-url / TOXIPROXY_URL at your Toxiproxy.',
    );
  }
  await sweepLeftovers(config, faults, say);
  const ledger = new ChaosLedger(config, opts.script);
  ledger.open();
  cleanup.defer('close the chaos record', async () => ledger.close(say));
  let n = 0;
  const ctx = { config, faults, ledger, cleanup, say, script: opts.script, next: () => ++n };
  return { faults, ledger, cleanup, say, put: (fault, script) => putInPlace(ctx, fault, script) };
}

/** Waits `ms`, or forever when undefined (until a signal handler exits the process). */
/** What to do when an undo step failed and a fault may still be in place. */
export const CLEAR_HINT = 'Run `npm run chaos -- clear`: it removes every toxic and re-enables every proxy.';

export function hold(ms: number | undefined): Promise<void> {
  if (ms === undefined) {
    setInterval(() => {}, 1 << 30); // nothing else may keep the process alive (e.g. --no-lock)
    return new Promise(() => {});
  }
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ToggleRunOptions extends SessionOptions {
  faults: Fault[];
  /** How long to hold the faults; undefined: until Ctrl-C/SIGTERM. */
  forMs?: number;
}

/** Throws DwError when Toxiproxy refuses a fault or a fault could not be undone. */
export async function runToggle(opts: ToggleRunOptions): Promise<void> {
  const { cleanup, say } = opts;
  await cleanup.around(async () => {
    const session = await openSession(opts);
    for (const fault of opts.faults) await session.put(fault);
    if (cleanup.started) return; // a signal came during the set-up; its handler is undoing it
    say(opts.forMs === undefined ? 'holding until Ctrl-C (or SIGTERM)…' : `holding for ${formatDuration(opts.forMs)}…`);
    await hold(opts.forMs);
    say('time is up: removing what this run added');
  }, { say, hint: CLEAR_HINT });
}
