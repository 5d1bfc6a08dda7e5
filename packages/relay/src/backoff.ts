/** Capped exponential backoff with jitter: attempt 0 waits ~initialMs, each next one about twice as long, never more than maxMs. */
import type { Backoff } from './options.ts';

export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
  // "Equal jitter": half fixed, half random, so instances that failed together do not retry together.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
