/** Capped exponential backoff, and a sleep that a stop can cut short. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** Delay before the 2nd attempt (ms). */
  initialMs: number;
  /** No delay is longer than this (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 10_000 };

/** The delay after failed attempt number `attempt` (1-based): initial · 2^(attempt−1), capped at max. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = Math.min(attempt - 1, 30); // 2^30 · initial is already past any sensible cap
  return Math.min(opts.maxMs, opts.initialMs * 2 ** exp);
}

/**
 * Waits `ms`, calling `heartbeat` at least every `heartbeatEveryMs` (a consumer that waits longer than its
 * session timeout without one is thrown out of its group). Rejects as soon as `signal` aborts, or when a
 * heartbeat throws (e.g. the group is rebalancing).
 */
export async function waitWithHeartbeats(ms: number, signal: AbortSignal, heartbeat: () => Promise<void>, heartbeatEveryMs = 1000): Promise<void> {
  for (let left = ms; left > 0; left -= heartbeatEveryMs) {
    await sleep(Math.min(left, heartbeatEveryMs), undefined, { signal });
    await heartbeat();
  }
}
