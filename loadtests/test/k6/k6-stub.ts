/** Stand-in for the `k6` module: check, fail, sleep, group. */
import { k6State } from './state.ts';

export function check<T>(value: T, sets: Record<string, (v: T) => boolean>, tags: Record<string, string> = {}): boolean {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    const ok = Boolean(fn(value));
    k6State().checks.push({ name, ok, tags });
    all &&= ok;
  }
  return all;
}

/** k6's fail() throws, which aborts setup() (and so the test run). */
export function fail(message?: string): never {
  throw new Error(`k6 fail(): ${message ?? ''}`);
}

export function sleep(seconds: number): void {
  k6State().sleeps.push(seconds);
}

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

export default { check, fail, sleep, group };
