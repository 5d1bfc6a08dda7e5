/**
 * The relay loop's sleep: `wait(ms)` ends after `ms`, or as soon as `wake()` is called (a NOTIFY, stop(),
 * waitUntilDrained()). A wake() that arrives while the loop is busy is remembered, so it is never lost.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = undefined;
      r();
    } else {
      this.pending = true;
    }
  }

  /** Resolves true when woken, false when the time ran out. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((done) => {
      const timer = setTimeout(() => {
        this.resolve = undefined;
        done(false);
      }, ms);
      this.resolve = () => {
        clearTimeout(timer);
        done(true);
      };
    });
  }

  /** Forgets a wake-up that arrived while busy (the caller is about to look anyway). */
  clear(): void {
    this.pending = false;
  }
}
