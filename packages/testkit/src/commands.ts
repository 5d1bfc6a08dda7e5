/**
 * Commands as child processes, watched by events (a printed line, the exit), and free ports for the servers
 * they start — for the tests of the entry points (`npm start`, `npm run order-service`, `npm run migrate`, …).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunningCommand {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout or stderr line matching `re` (at once if already printed); rejects if the process exits first. */
  line(re: RegExp): Promise<string>;
  /** The process itself exited (its output may still be arriving, and its children may still run). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its stdout and stderr were closed by everyone holding them — children that inherited them included. */
  closed: Promise<void>;
}

export function startCommand(command: string, args: string[], opts: SpawnOptions = {}): RunningCommand {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = `${out}\n${err}`.split('\n').find((l) => w.re.test(l));
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
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    closed,
    line: (re) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then(({ code, signal }) => {
          // Output already in the pipe still counts: wait for the streams before giving up.
          void closed.then(() => {
            check();
            if (waiters.some((w) => w.re === re)) reject(new Error(`exited (${code ?? signal}) before printing ${re}:\n${out}\n${err}`));
          });
        });
      }),
  };
}

/** Runs a command to its end. */
export async function runCommand(command: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = startCommand(command, args, opts);
  const { code } = await c.exited;
  await c.closed;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

