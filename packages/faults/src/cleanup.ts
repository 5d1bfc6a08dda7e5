/**
 * Undo steps (remove the toxic, stop the service, release the lock), run once and last-in first-out —
 * from the normal path, an error, or a Ctrl-C/SIGTERM handler, whichever comes first.
 */
import { DwError } from '@dual-write/config';

export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> }[] = [];
  private running: Promise<Error[]> | undefined;

  /** Registers a step; the returned function runs it now (once) instead of at the end. */
  defer(name: string, fn: () => Promise<void>): () => Promise<void> {
    const step = { name, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await fn();
    };
  }

  /**
   * Runs `body`, then every remaining step, whatever happened. Failed steps are reported with `say`; they become a
   * DW_PROCESS_FAILED (with `hint`) only when `body` succeeded, so they never hide the body's own error.
   */
  async around<T>(body: () => Promise<T>, opts: { say: (line: string) => void; hint: string }): Promise<T> {
    const report = async () => {
      const errors = await this.runAll();
      for (const e of errors) opts.say(`cleanup failed: ${e.message}`);
      return errors;
    };
    let result: T;
    try {
      result = await body();
    } catch (err) {
      await report();
      throw err;
    }
    const errors = await report();
    if (errors.length) throw new DwError('DW_PROCESS_FAILED', `Cleanup failed: ${errors.map((e) => e.message).join('; ')}.`, opts.hint);
    return result;
  }

  /** True once runAll() was called (e.g. by a signal handler): the run is being torn down. */
  get started(): boolean {
    return this.running !== undefined;
  }

  /** Runs every remaining step, newest first; a failing step does not stop the others. Resolves to their errors. */
  runAll(): Promise<Error[]> {
    this.running ??= (async () => {
      const errors: Error[] = [];
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          errors.push(new Error(`${step.name}: ${(err as Error).message}`, { cause: err }));
        }
      }
      return errors;
    })();
    return this.running;
  }
}
