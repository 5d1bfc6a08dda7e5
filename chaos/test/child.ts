/** A chaos script as a child process (`node --import tsx chaos/src/cli.ts …` from the repo root), watched by events. */
import { spawn, type ChildProcess } from 'node:child_process';
import { findRepoRoot } from '@dual-write/config';

export const ROOT = findRepoRoot();

export interface ChaosChild {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the stdout line matching `re` as soon as it is printed; rejects if the process exits first. */
  line(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChaos(args: string[]): ChaosChild {
  const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = out.split('\n').find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    line: (re) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then(({ code, signal }) => reject(new Error(`chaos exited (${code ?? signal}) before printing ${re}:\n${out}\n${err}`)));
      }),
  };
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
