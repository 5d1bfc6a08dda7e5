/**
 * A TypeScript child process (node --import tsx <script>) that talks to its parent over Node's IPC channel:
 * messages are `{ type, ...}` objects; `next(type)` resolves with the next message of that type (or rejects when
 * the child exits first, sends `{ type: 'error' }`, or the timeout passes). The child is expected to exit when
 * the channel closes (`process.on('disconnect', …)`), so a parent that dies takes its children with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { config } from './common.ts';

export interface IpcMessage {
  type: string;
}

export class IpcChild<In extends IpcMessage, Out extends IpcMessage> {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly queued: Out[] = [];
  private readonly waiters: { type: string; resolve(m: Out): void; reject(e: Error): void }[] = [];
  private readonly listeners = new Map<string, (m: Out) => void>();
  private failure: Error | undefined;
  private output = '';
  private rejectFailed: (e: Error) => void = () => {};
  /** Rejects when the child fails (exits, or sends { type: 'error' }); never resolves. */
  readonly failed: Promise<never> = new Promise<never>((_, reject) => (this.rejectFailed = reject));

  constructor(readonly name: string, script: string, env: Record<string, string> = {}) {
    this.failed.catch(() => {});
    this.child = fork(script, [], {
      cwd: config.repoRoot,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (m: Out) => this.deliver(m));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      this.fail(new Error(`${this.name} (pid ${this.child.pid}) exited (${signal ?? code}): ${this.output.trim().slice(-1500)}`));
      resolve({ code, signal });
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Every message of this type goes to `fn` (not to next()). */
  on<T extends Out['type']>(type: T, fn: (m: Extract<Out, { type: T }>) => void): void {
    this.listeners.set(type, fn as (m: Out) => void);
  }

  send(message: In): void {
    if (this.failure) throw this.failure;
    this.child.send(message);
  }

  next<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    const i = this.queued.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.queued.splice(i, 1)[0] as Extract<Out, { type: T }>);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name} sent no "${type}" within ${timeoutMs} ms: ${this.output.trim().slice(-1500)}`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m: Out) => { clearTimeout(timer); resolve(m as Extract<Out, { type: T }>); },
        reject: (e: Error) => { clearTimeout(timer); reject(e); },
      };
      this.waiters.push(waiter);
    });
  }

  /** Closes the channel (the child exits on 'disconnect'), SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private deliver(m: Out): void {
    if (m.type === 'error') return this.fail(new Error(`${this.name}: ${(m as IpcMessage & { message?: string }).message ?? 'failed'}`));
    const listener = this.listeners.get(m.type);
    if (listener) return listener(m);
    const i = this.waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    else this.queued.push(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.rejectFailed(this.failure);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}

/** In a child: sends a message to the parent (no-op without an IPC channel). */
export function toParent(message: IpcMessage): void {
  process.send?.(message);
}

/** In a child: reports an error to the parent, then exits 1. */
export function failToParent(err: unknown): void {
  const message = (err as Error | undefined)?.stack ?? String(err);
  if (!process.send) {
    console.error(message);
    process.exit(1);
  }
  process.send({ type: 'error', message }, () => process.exit(1));
}
