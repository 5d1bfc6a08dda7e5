/** A chaos script as a child process (`node --import tsx chaos/src/cli.ts …` from the repo root), watched by events. */
import { findRepoRoot } from '@dual-write/config';
import { startCommand, type RunningCommand } from '@dual-write/testkit';

export const ROOT = findRepoRoot();

export type ChaosChild = Omit<RunningCommand, 'closed'>;

/**
 * A chaos script as a child process, its output watched line by line. `exited` resolves once its output is
 * all read too, so a test can read stdout() right after it. `env` adds to (or overrides) this environment.
 */
export function startChaos(args: string[], env: NodeJS.ProcessEnv = {}): ChaosChild {
  const c = startCommand(process.execPath, ['--import', 'tsx', 'chaos/src/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  return { ...c, exited: c.exited.then(async (r) => (await c.closed, r)) };
}

/**
 * Looks at the world while the chaos process is frozen (SIGSTOP … SIGCONT): its timers cannot fire, so a
 * fault it just reported is still in place however slowly this test reads — no race with the fault's end.
 */
export async function whileFrozen<T>(run: ChaosChild, look: () => Promise<T>): Promise<T> {
  run.child.kill('SIGSTOP');
  try {
    return await look();
  } finally {
    run.child.kill('SIGCONT');
  }
}

/** Runs a chaos script to its end. */
export async function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = startChaos(args);
  const { code } = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
