/** Resources a test file opened and must close: a file that leaks one fails in afterAll, naming it. */
export interface Tracked {
  name: string;
  isClosed: () => boolean;
}

export class LeakTracker {
  private readonly items: Tracked[] = [];

  track(name: string, isClosed: () => boolean): void {
    this.items.push({ name, isClosed });
  }

  /** Wraps an object's close method (end/disconnect/close) so the tracker knows when it was called. */
  trackCloseable<T extends object>(name: string, obj: T, method: keyof T & string): T {
    let closed = false;
    const original = (obj as Record<string, unknown>)[method] as (...a: unknown[]) => unknown;
    (obj as Record<string, unknown>)[method] = (...args: unknown[]) => {
      closed = true;
      return original.apply(obj, args);
    };
    this.track(name, () => closed);
    return obj;
  }

  open(): string[] {
    return this.items.filter((i) => !i.isClosed()).map((i) => i.name);
  }

  assertNoneOpen(): void {
    const open = this.open();
    if (open.length) {
      throw new Error(`Leak check: this test file left ${open.length} resource(s) open: ${open.join(', ')}. Close them (pool.end(), producer.disconnect(), app.close()) in the test or an afterAll.`);
    }
  }
}
