/** Runs `services/lab/src/soak/cli.ts` as its own process (as `npm run soak` does) and reads its JSON results. */
import { spawn } from 'node:child_process';
import { findRepoRoot } from '@dual-write/config';
import type { SoakResult } from '../src/soak/run-soak.ts';

export interface SoakRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = findRepoRoot();

/** The soak CLI with these arguments; `env` replaces the whole environment (default: this process's). */
export function runSoakCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<SoakRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/lab/src/soak/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The run's JSON results; a run that printed none (it crashed) fails with the end of its log. */
export function soakResults(run: SoakRun): SoakResult[] {
  try {
    return (JSON.parse(run.stdout) as { results: SoakResult[] }).results;
  } catch {
    throw new Error(`no JSON results (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  }
}

/**
 * The consumers' effects of a clean outbox run: every order shipped and invoiced once, nothing missing, ghost or
 * premature, and shipping and billing each applied every event once, in its stream's sequence, to its end.
 */
export function cleanEffects(r: SoakResult): SoakResult['effects'] {
  return {
    shipped: r.audit.rows,
    invoiced: r.audit.rows,
    doubleShipments: 0,
    doubleInvoices: 0,
    missingShipments: 0,
    missingInvoices: 0,
    ghostShipments: 0,
    ghostInvoices: 0,
    prematureShipments: 0,
    prematureInvoices: 0,
    streamStepsApplied: 2 * r.audit.events,
    outOfSequence: 0,
    incompleteStreams: 0,
  };
}
